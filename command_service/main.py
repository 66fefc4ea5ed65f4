"""The command service application."""

from fastapi import FastAPI

from command_service.api import router
from command_service.api.consistency import install_consistency_tokens
from command_service.api.errors import install_command_error_handlers
from command_service.passwords import Passwords
from command_service.write_model.indexes import ensure_write_model_indexes
from service_kit.mongo import MongoConnection
from service_kit.service_app import build_service_app
from service_kit.settings import Settings


def create_app(settings: Settings, connection: MongoConnection | None = None) -> FastAPI:
    app = build_service_app(
        title="microblog command service",
        settings=settings,
        router=router,
        public_prefix="/command",
        prepare_database=ensure_write_model_indexes,
        connection=connection,
    )
    app.state.passwords = Passwords(settings)
    install_command_error_handlers(app)
    install_consistency_tokens(app)
    return app
