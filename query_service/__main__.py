"""`python -m query_service`: serve the query API on BIND_HOST:QUERY_PORT."""

from query_service.main import create_app
from service_kit.serve import configure_process, serve
from service_kit.settings import get_settings

if __name__ == "__main__":
    settings = get_settings()
    configure_process(settings, "query")
    serve(create_app(settings), settings, port=settings.query_port, name="query service")
