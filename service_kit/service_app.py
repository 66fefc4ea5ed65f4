"""The FastAPI application frame both HTTP services share: settings, MongoDB, errors, health."""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from tenacity import AsyncRetrying, before_sleep_log, wait_exponential

from service_kit.health import health_router
from service_kit.mongo import Database, MongoConnection, connect, ping
from service_kit.problems import install_problem_handlers
from service_kit.settings import Settings

log = logging.getLogger(__name__)
PrepareDatabase = Callable[[Database], Awaitable[None]]


def build_service_app(
    *,
    title: str,
    settings: Settings,
    router: APIRouter,
    prepare_database: PrepareDatabase,
    connection: MongoConnection | None = None,
) -> FastAPI:
    """An app on `connection` if given (shared in embedded mode), else on its own connection."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_connection = connection is None
        active = connection or connect(settings)
        app.state.database = active.database
        # Serve nothing until the indexes the code relies on exist; MongoDB may still be starting.
        async for attempt in AsyncRetrying(
            wait=wait_exponential(multiplier=0.5, max=10),
            before_sleep=before_sleep_log(log, logging.WARNING),
        ):
            with attempt:
                await prepare_database(active.database)
        try:
            yield
        finally:
            if own_connection:
                await active.close()

    app = FastAPI(title=title, version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    install_problem_handlers(app)

    async def database_answers() -> None:
        await ping(app.state.database)

    app.include_router(health_router(database_answers))
    app.include_router(router)
    return app
