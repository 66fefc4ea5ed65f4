"""The query service application."""

from fastapi import FastAPI

from query_service.api import router
from query_service.api.consistency import install_read_your_writes
from query_service.read_models.registry import ensure_read_model_indexes
from service_kit.mongo import MongoConnection
from service_kit.service_app import build_service_app
from service_kit.settings import Settings


def create_app(settings: Settings, connection: MongoConnection | None = None) -> FastAPI:
    app = build_service_app(
        title="microblog query service",
        settings=settings,
        router=router,
        public_prefix="/query",
        service="query",
        prepare_database=ensure_read_model_indexes,
        connection=connection,
        reads_read_models=True,
    )
    install_read_your_writes(app, settings)
    return app
