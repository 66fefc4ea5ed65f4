"""Every successful command that changed something answers with `X-Consistency-Token`."""

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from command_service.write_model.command_scope import command_scope
from service_kit.consistency import TOKEN_HEADER, encode_token

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def install_consistency_tokens(app: FastAPI) -> None:
    @app.middleware("http")
    async def consistency_token(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.method in READ_ONLY_METHODS or not request.url.path.startswith("/command/"):
            return await call_next(request)
        async with command_scope(request.app.state.database) as scope:
            response = await call_next(request)
        if 200 <= response.status_code < 300 and scope.cluster_time is not None:
            response.headers[TOKEN_HEADER] = encode_token(scope.cluster_time)
        return response
