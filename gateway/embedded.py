"""The whole stack in one process on the embedded store: what `make run` starts by default."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI, Request, Response

from command_service.main import create_app as create_command_app
from gateway.app import PrefixDispatcher
from query_service.main import create_app as create_query_app
from query_service.projector.runner import Projector
from query_service.projector.service import metrics_response, running_projector
from service_kit.mongo import MongoConnection
from service_kit.mongo.connection import connect_embedded
from service_kit.problems import install_problem_handlers
from service_kit.settings import Settings


def create_embedded_stack(
    settings: Settings, connection: MongoConnection | None = None
) -> PrefixDispatcher:
    shared = connection or connect_embedded(settings)
    command_app = create_command_app(settings, shared)
    query_app = create_query_app(settings, shared)
    projector = Projector(shared.database, settings)

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
    )
    install_problem_handlers(own)
    own.state.projector = projector

    @own.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "store": "embedded", "projector": projector.status.phase}

    # The projector's series, as its own /metrics serves them in a deployment.
    @own.get("/metrics", tags=["metrics"], response_class=Response)
    async def metrics(request: Request) -> Response:
        return await metrics_response(projector, shared.database, request)

    return PrefixDispatcher({"command": command_app, "query": query_app}, own)
