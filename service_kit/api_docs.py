"""Swagger UI for a service's OpenAPI document, served by the service itself.

FastAPI's stock docs page loads Swagger UI's script and stylesheet from a CDN, so it stays blank
offline, behind egress rules and wherever the CDN is blocked. Here they come from the pinned
`swagger-ui-bundle-v2` package (Swagger UI's own distribution files), under the service's public
prefix so that they route through the gateway and the edge like the page. Only the three files the
page uses are served, and the page asks no third party for anything (no validator badge), so the
docs page's Content-Security-Policy (service_kit/middleware.py) allows 'self' and nothing else.
"""

from http import HTTPStatus
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import FileResponse, HTMLResponse
from swagger_ui_bundle import swagger_ui_path

from service_kit.problems import Problem

SWAGGER_UI = Path(swagger_ui_path)
# The files the page references, with their media types.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
# The files change only with the package: a day in caches is safe, an upgrade shows within one.
ASSET_CACHE = "public, max-age=86400"


def docs_path(public_prefix: str) -> str:
    return f"{public_prefix}/docs"


def install_api_docs(app: FastAPI, public_prefix: str) -> None:
    """GET {prefix}/docs (the page) and {prefix}/docs/assets/{name} (its script, style, icon)."""
    page = docs_path(public_prefix)
    assets = f"{page}/assets"
    openapi_url = app.openapi_url
    assert openapi_url is not None, "the docs page needs the OpenAPI document"

    @app.get(page, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon-32x32.png",
            oauth2_redirect_url=None,
            # Swagger UI would otherwise send the document's URL to validator.swagger.io for a badge.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(f"{assets}/{{name}}", include_in_schema=False)
    async def swagger_ui_asset(name: str) -> FileResponse:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise Problem(HTTPStatus.NOT_FOUND, f"No docs asset named {name!r}.")
        return FileResponse(
            SWAGGER_UI / name, media_type=media_type, headers={"Cache-Control": ASSET_CACHE}
        )
