"""The gateway's ASGI application: dispatch by prefix, answer /healthz itself."""

from collections.abc import Mapping

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.routing import Upstream, upstream_for


class PrefixDispatcher:
    """Send each request to its upstream by path prefix, anything else to the gateway's app."""

    def __init__(self, upstreams: Mapping[Upstream, ASGIApp], own: FastAPI) -> None:
        self._upstreams = upstreams
        self._own = own

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            upstream = upstream_for(scope["path"])
            if upstream is not None:
                await self._upstreams[upstream](scope, receive, send)
                return
        # Lifespan events and unrouted paths (e.g. /healthz) belong to the gateway itself.
        await self._own(scope, receive, send)
