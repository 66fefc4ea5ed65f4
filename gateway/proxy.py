"""The gateway in front of separate processes: a streaming reverse proxy over httpx."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus

import httpx
from fastapi import FastAPI, Response
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from gateway.app import PrefixDispatcher
from service_kit.observability.metrics import Telemetry, exposition
from service_kit.observability.requests import instrument
from service_kit.problems import Problem, install_problem_handlers
from service_kit.service_app import install_http_middleware
from service_kit.settings import Settings

log = logging.getLogger(__name__)
# Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and are never forwarded.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


class ReverseProxy:
    def __init__(self, upstream_url: str, client: "ClientHolder") -> None:
        self._upstream = upstream_url.rstrip("/")
        self._client = client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        url = self._upstream + scope["raw_path"].decode("latin-1")
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        client_host = request.client.host if request.client else ""
        headers += [
            ("x-forwarded-for", client_host),
            ("x-forwarded-proto", scope.get("scheme", "http")),
        ]
        outgoing = self._client.get().build_request(
            request.method, url, headers=headers, content=request.stream()
        )
        try:
            upstream = await self._client.get().send(outgoing, stream=True)
        except httpx.HTTPError as error:
            log.warning("upstream %s failed: %r", self._upstream, error)
            response = Problem(
                HTTPStatus.BAD_GATEWAY, "The service behind this path did not answer."
            ).response()
            await response(scope, receive, send)
            return
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": upstream.status_code,
                    "headers": [
                        (k.encode("latin-1"), v.encode("latin-1"))
                        for k, v in upstream.headers.multi_items()
                        if k.lower() not in HOP_BY_HOP - {"content-length"}
                    ],
                }
            )
            async for chunk in upstream.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await upstream.aclose()


class ClientHolder:
    """The shared httpx client, opened and closed by the gateway's lifespan."""

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None

    def get(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError("the gateway has not started")
        return self._client

    def open(self) -> None:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(30.0, connect=5.0), follow_redirects=False
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def create_proxy_gateway(settings: Settings) -> PrefixDispatcher:
    holder = ClientHolder()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        holder.open()
        try:
            yield
        finally:
            await holder.close()

    own = FastAPI(
        title="microblog gateway",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
    )
    install_problem_handlers(own)
    install_http_middleware(own, settings, docs_paths=frozenset())
    telemetry = Telemetry()
    instrument(own, service="gateway", telemetry=telemetry)

    @own.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "store": "mongodb"}

    # The gateway's own requests only: each service behind it serves its own /metrics.
    @own.get("/metrics", tags=["metrics"], response_class=Response)
    async def metrics(request: Request) -> Response:
        body, content_type = exposition([telemetry.registry], request.headers.get("accept", ""))
        return Response(body, headers={"Content-Type": content_type})

    return PrefixDispatcher(
        {
            "command": ReverseProxy(settings.command_url, holder),
            "query": ReverseProxy(settings.query_url, holder),
        },
        own,
    )
