"""The FastAPI application frame both HTTP services share: settings, MongoDB, errors, health."""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware import Middleware
from tenacity import AsyncRetrying, wait_exponential

from service_kit.api_docs import docs_path, install_api_docs
from service_kit.consistency import STATE_HEADER, TOKEN_HEADER
from service_kit.health import health_router
from service_kit.middleware import BodySizeLimit, HeadAsGet, SecurityHeaders
from service_kit.mongo import Database, MongoConnection, connect
from service_kit.observability.context import REQUEST_ID_HEADER
from service_kit.observability.metrics import Telemetry, exposition
from service_kit.observability.requests import instrument
from service_kit.problems import install_problem_handlers
from service_kit.rate_limits import RateLimits
from service_kit.retries import log_retry
from service_kit.settings import Settings, split_list

PrepareDatabase = Callable[[Database], Awaitable[None]]


def build_service_app(
    *,
    title: str,
    settings: Settings,
    router: APIRouter,
    public_prefix: str,
    prepare_database: PrepareDatabase,
    service: str,
    connection: MongoConnection | None = None,
    reads_read_models: bool = False,
) -> FastAPI:
    """An app on `connection` if given (shared in embedded mode), else on its own connection.
    It works on the write model's database, or with `reads_read_models` on the read models'.
    Its requests are observed as `service` in the connection's telemetry."""
    telemetry = connection.telemetry if connection is not None else Telemetry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_connection = connection is None
        active = connection or connect(settings, telemetry)
        database = app.state.database = (
            active.read_database if reads_read_models else active.database
        )
        app.state.rate_limits = RateLimits(
            database,
            enabled=settings.rate_limits_enabled,
            rejections=telemetry.rate_limit_rejections,
        )
        # Serve /healthz even while MongoDB is unreachable; /readyz stays false until the indexes
        # the code relies on (e.g. unique handles) exist, so no traffic arrives before then.
        app.state.prepared = asyncio.create_task(
            _prepare_until_done(title, prepare_database, database)
        )
        await asyncio.wait([app.state.prepared], timeout=settings.mongodb_timeout_ms / 1000 + 1)
        try:
            yield
        finally:
            app.state.prepared.cancel()
            if own_connection:
                await active.close()

    # The docs live under the service's public prefix, so they route through the Ingress too;
    # the page and its Swagger UI files are served by the service (service_kit/api_docs.py).
    app = FastAPI(
        title=title,
        version="1.0.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=f"{public_prefix}/openapi.json",
        # A redirect to the slash-less path would be built from the Host header: answer 404.
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.telemetry = telemetry
    install_problem_handlers(app)
    install_http_middleware(app, settings, docs_paths=frozenset({docs_path(public_prefix)}))
    install_api_docs(app, public_prefix)
    instrument(app, service=service, telemetry=telemetry)

    # Ready = started and prepared, once. No per-probe MongoDB ping: the database is shared, so
    # a ping would take every pod out at once during a primary election, and the edge proxy
    # would answer with its own error page; the app answers database outages itself.
    async def ready() -> None:
        prepared = app.state.prepared
        if not prepared.done() or prepared.cancelled() or prepared.exception() is not None:
            raise RuntimeError("MongoDB is not prepared yet")

    app.state.ready = ready
    app.include_router(health_router(ready))
    app.include_router(metrics_router(telemetry))
    app.include_router(router)
    return app


def metrics_router(telemetry: Telemetry) -> APIRouter:
    """`/metrics` at the root, beside the probes: outside the public prefix, so neither the
    Ingress nor the gateway routes it (they route `/command` and `/query` only)."""
    router = APIRouter(tags=["metrics"])

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics(request: Request) -> Response:
        body, content_type = exposition([telemetry.registry], request.headers.get("accept", ""))
        return Response(body, headers={"Content-Type": content_type})

    return router


def install_http_middleware(app: FastAPI, settings: Settings, docs_paths: frozenset[str]) -> None:
    """From the outside in: security headers, CORS, HEAD, the body size limit."""
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(HeadAsGet)
    origins = split_list(settings.cors_allow_origins)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                TOKEN_HEADER,  # read-your-writes: browsers send it back
                REQUEST_ID_HEADER,
            ],
            expose_headers=[
                "Location",
                "Retry-After",
                "Idempotent-Replayed",
                TOKEN_HEADER,
                STATE_HEADER,
                REQUEST_ID_HEADER,
            ],
            max_age=600,
        )
    app.add_middleware(SecurityHeaders, docs_paths=docs_paths)


def add_service_middleware(app: FastAPI, middleware: Any, **options: Any) -> None:
    """Add one service's own ASGI middleware inside the shared ones, next to the routes: its
    responses get the security headers and the HEAD handling, and a body it sees is within the
    limit. (`add_middleware` would put it outside all of them.)"""
    if app.middleware_stack is not None:
        raise RuntimeError("middleware must be added before the application starts")
    app.user_middleware.append(Middleware(middleware, **options))


async def _prepare_until_done(title: str, prepare: PrepareDatabase, database: Database) -> None:
    async for attempt in AsyncRetrying(
        wait=wait_exponential(multiplier=0.5, max=10),
        before_sleep=log_retry(f"{title}: preparing MongoDB", logging.WARNING),
    ):
        with attempt:
            await prepare(database)
