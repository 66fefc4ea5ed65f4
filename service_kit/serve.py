"""Run one microblog process under uvicorn: logging and tracing set up once, a warning for misuse,
graceful shutdown."""

import logging

import uvicorn
from fastapi import FastAPI

from service_kit.observability.logs import configure_logging
from service_kit.observability.tracing import configure_tracing
from service_kit.settings import Settings

log = logging.getLogger(__name__)


def configure_process(settings: Settings, service: str) -> None:
    """What a process sets up once, before it builds its app: JSON logs at LOG_LEVEL, and
    traces when OTEL_EXPORTER_OTLP_ENDPOINT is set."""
    configure_logging(settings.log_level)
    configure_tracing(settings, service)


def serve(
    app: FastAPI, settings: Settings, *, port: int, name: str, graceful_seconds: int = 20
) -> None:
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
        log_config=None,  # the root logger's JSON lines (configure_process)
        access_log=False,  # each request's one line comes from service_kit.observability
        # Forwarded headers are read by service_kit.client_ip, only from TRUSTED_PROXIES.
        proxy_headers=False,
        timeout_graceful_shutdown=graceful_seconds,
    )
