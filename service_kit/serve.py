"""Run one microblog process under uvicorn: logging, a warning for misuse, graceful shutdown."""

import logging

import uvicorn
from fastapi import FastAPI

from service_kit.logs import configure_logging
from service_kit.settings import Settings

log = logging.getLogger(__name__)


def serve(
    app: FastAPI, settings: Settings, *, port: int, name: str, graceful_seconds: int = 20
) -> None:
    configure_logging(settings.log_level)
    if settings.embedded:
        log.warning(
            "%s is running on its own embedded store (MONGODB_URI is unset); it shares no data "
            "with other processes. Use `make run` to run the whole stack in one process.",
            name,
        )
    uvicorn.run(
        app,
        host=settings.bind_host,
        port=port,
        log_config=None,
        # Forwarded headers are read by service_kit.client_ip, only from TRUSTED_PROXIES.
        proxy_headers=False,
        timeout_graceful_shutdown=graceful_seconds,
    )
