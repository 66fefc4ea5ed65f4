"""`python -m query_service.projector`: the projector, health endpoints on PROJECTOR_PORT."""

from query_service.projector.service import create_projector_app
from service_kit.serve import configure_process, serve
from service_kit.settings import get_settings

if __name__ == "__main__":
    settings = get_settings()
    configure_process(settings, "projector")
    serve(
        create_projector_app(settings),
        settings,
        port=settings.projector_port,
        name="projector",
        graceful_seconds=5,
    )
