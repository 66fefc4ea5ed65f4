"""`python -m gateway`: the local entry point on BIND_HOST:GATEWAY_PORT (127.0.0.1:8080)."""

import logging

import uvicorn

from gateway.embedded import create_embedded_stack
from gateway.proxy import create_proxy_gateway
from service_kit.serve import configure_process
from service_kit.settings import get_settings

log = logging.getLogger("gateway")

if __name__ == "__main__":
    settings = get_settings()
    configure_process(settings, "gateway")
    if settings.embedded:
        app = create_embedded_stack(settings)
        log.info("embedded store: command service, query service and projector run in this process")
    else:
        app = create_proxy_gateway(settings)
        log.info(
            "proxying /command to %s and /query to %s", settings.command_url, settings.query_url
        )
    log.info("microblog gateway on http://%s:%d", settings.bind_host, settings.gateway_port)
    uvicorn.run(
        app,
        host=settings.bind_host,
        port=settings.gateway_port,
        log_config=None,  # the root logger's JSON lines (configure_process)
        access_log=False,  # each request's one line comes from service_kit.observability
        proxy_headers=False,
        timeout_graceful_shutdown=20,
    )
