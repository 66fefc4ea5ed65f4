"""`python -m command_service`: serve the command API on BIND_HOST:COMMAND_PORT."""

from command_service.main import create_app
from service_kit.serve import configure_process, serve
from service_kit.settings import get_settings

if __name__ == "__main__":
    settings = get_settings()
    configure_process(settings, "command")
    serve(create_app(settings), settings, port=settings.command_port, name="command service")
