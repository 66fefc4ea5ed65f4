"""The whole stack in one process on the embedded store: what `make run` starts by default."""

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from http import HTTPStatus

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from command_service.main import create_app as create_command_app
from gateway.app import PrefixDispatcher
from query_service.main import create_app as create_query_app
from query_service.projector.runner import Projector
from query_service.projector.service import metrics_response, running_projector
from service_kit.mongo import MongoConnection
from service_kit.mongo.connection import connect_embedded
from service_kit.observability.requests import instrument
from service_kit.problems import Problem, install_problem_handlers
from service_kit.service_app import install_http_middleware
from service_kit.settings import Settings

log = logging.getLogger(__name__)


def _not_ready(detail: str) -> JSONResponse:
    return Problem(HTTPStatus.SERVICE_UNAVAILABLE, detail, slug="not-ready").response()


def create_embedded_stack(
    settings: Settings, connection: MongoConnection | None = None
) -> PrefixDispatcher:
    shared = connection or connect_embedded(settings)
    telemetry = shared.telemetry  # the process's: the services' requests and commands
    command_app = create_command_app(settings, shared)
    query_app = create_query_app(settings, shared)
    projector = Projector(shared.database, settings, shared.read_database)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for service in (command_app, query_app):  # creates the indexes, like separate processes
                await stack.enter_async_context(service.router.lifespan_context(service))
            app.state.projector_task = await stack.enter_async_context(running_projector(projector))
            yield

    own = FastAPI(
        title="microblog gateway (embedded)",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
    )
    install_problem_handlers(own)
    install_http_middleware(own, settings, docs_paths=frozenset())
    instrument(own, service="gateway", telemetry=telemetry)
    own.state.projector = projector

    @own.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "store": "embedded", "projector": projector.status.phase}

    @own.get("/readyz", tags=["health"], response_model=None)
    async def readyz() -> dict[str, str] | JSONResponse:
        """Ready when both services have prepared the store and the projector follows changes."""
        try:
            for service in (command_app, query_app):
                await service.state.ready()
        except Exception as error:  # any failure means "not ready"; the reason goes to the log
            log.warning("not ready: %r", error)
            return _not_ready("The store is not prepared yet.")
        if projector.status.phase != "following":
            return _not_ready(f"The projector is {projector.status.phase}, not following.")
        return {"status": "ready", "store": "embedded", "projector": projector.status.phase}

    # Every series of the process: the projector's, and the services' requests and commands
    # (in a deployment, each process serves its own at its /metrics).
    @own.get("/metrics", tags=["metrics"], response_class=Response)
    async def metrics(request: Request) -> Response:
        return await metrics_response(projector, shared.read_database, request, telemetry)

    return PrefixDispatcher({"command": command_app, "query": query_app}, own)
