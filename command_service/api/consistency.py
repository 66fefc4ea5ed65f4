"""Every successful command that changed something answers with `X-Consistency-Token`.

A plain ASGI middleware (no BaseHTTPMiddleware: no extra task per request). It opens the command's
session, lets the command run in it, and adds the token to a 2xx response as it starts: by then
the command has made all its writes. The token names the last write that changed something
(`write_model/command_scope.py`); a command that changed nothing gets none.
"""

from starlette.datastructures import MutableHeaders, State
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from command_service.write_model.command_scope import command_scope
from service_kit.consistency import TOKEN_HEADER, ConsistencyKeys

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ConsistencyTokens:
    def __init__(self, app: ASGIApp, state: State, keys: ConsistencyKeys) -> None:
        self.app = app
        self.state = state  # the service's app.state: its database is set when it starts
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in READ_ONLY_METHODS
            or not scope["path"].startswith("/command/")
        ):
            await self.app(scope, receive, send)
            return
        async with command_scope(self.state.database) as command:

            async def with_token(message: Message) -> None:
                written = command.cluster_time
                starts = message["type"] == "http.response.start"
                if starts and 200 <= message["status"] < 300 and written is not None:
                    MutableHeaders(scope=message)[TOKEN_HEADER] = self.keys.issue(written)
                await send(message)

            await self.app(scope, receive, with_token)
