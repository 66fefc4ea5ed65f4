"""The command service application."""

from fastapi import FastAPI

from command_service.api import router
from command_service.api.consistency import ConsistencyTokens
from command_service.api.errors import install_command_error_handlers
from command_service.passwords import Passwords
from command_service.write_model.indexes import ensure_write_model_indexes
from service_kit.consistency import ConsistencyKeys
from service_kit.mongo import MongoConnection
from service_kit.service_app import add_service_middleware, build_service_app
from service_kit.settings import Settings


def create_app(settings: Settings, connection: MongoConnection | None = None) -> FastAPI:
    app = build_service_app(
        title="microblog command service",
        settings=settings,
        router=router,
        public_prefix="/command",
        service="command",
        prepare_database=ensure_write_model_indexes,
        connection=connection,
    )
    app.state.passwords = Passwords(settings)
    install_command_error_handlers(app)
    keys = ConsistencyKeys.from_settings(settings)
    add_service_middleware(app, ConsistencyTokens, state=app.state, keys=keys)
    return app
