"""The error model: every 4xx/5xx body is RFC 9457 `application/problem+json`.

Handlers raise `Problem` (or a subclass); framework errors (unknown route, wrong method, invalid
body) and unexpected exceptions are converted here, so no stack trace ever leaves the process.
"""

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class Problem(Exception):
    """An error the client can act on; `slug` names the problem type."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug
        self.title = title or HTTPStatus(status).phrase
        self.headers = headers or {}
        self.extensions = extensions

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {
            "type": f"urn:microblog:problem:{self.slug}" if self.slug else "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extensions,
        }
        return JSONResponse(
            body, status_code=self.status, media_type=PROBLEM_JSON, headers=self.headers
        )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _on_unexpected_error)


async def _on_problem(_: Request, problem: Problem) -> JSONResponse:
    return problem.response()


async def _on_http_exception(request: Request, error: StarletteHTTPException) -> JSONResponse:
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    if error.status_code == HTTPStatus.NOT_FOUND and detail == "Not Found":
        detail = f"No resource at {request.url.path}"
    elif error.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return Problem(error.status_code, detail, headers=getattr(error, "headers", None)).response()


async def _on_validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
    errors = error.errors()
    if any(item.get("type") == "json_invalid" for item in errors):
        return Problem(
            HTTPStatus.BAD_REQUEST, "The request body is not valid JSON.", slug="malformed-json"
        ).response()
    fields = [
        {
            "field": ".".join(str(part) for part in item.get("loc", ()) if part != "body")
            or "body",
            "message": item.get("msg", "invalid"),
            "type": item.get("type", "invalid"),
        }
        for item in errors
    ]
    return Problem(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "The request has invalid fields.",
        slug="validation",
        errors=fields,
    ).response()


async def _on_unexpected_error(request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return Problem(
        HTTPStatus.INTERNAL_SERVER_ERROR, "An unexpected error occurred; it has been logged."
    ).response()
