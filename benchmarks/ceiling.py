"""The ceiling `make bench` divides by: a bare FastAPI app that returns the bytes microblog returned.

    python -m benchmarks.ceiling --bodies FILE --port PORT

FILE maps each path (without its query) to the status, content type and body microblog answered
there, captured in the same run. Each becomes a GET route that returns those bytes as they are:
no middleware, no dependencies, no store. It runs under the same uvicorn, with the same options,
as `benchmarks.stack`, so the ratio says what microblog's own work costs on top of the framework.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Response


def create_ceiling(bodies: dict[str, dict[str, str | int]]) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    for path, answer in bodies.items():
        content = base64.b64decode(str(answer["body"]))
        app.add_api_route(
            path,
            _answering(content, str(answer["content_type"]), int(answer["status"])),
            methods=["GET"],
        )
    return app


def _answering(content: bytes, media_type: str, status: int) -> Callable[[], Awaitable[Response]]:
    """A handler with no parameters (FastAPI would read defaults as query parameters)."""

    async def endpoint() -> Response:
        return Response(content, status_code=status, media_type=media_type)

    return endpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bodies", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    app = create_ceiling(json.loads(Path(arguments.bodies).read_text()))
    config = uvicorn.Config(
        app, host=arguments.host, port=arguments.port, log_config=None, proxy_headers=False
    )
    asyncio.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
