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
from pydantic import BaseModel
from pymongo.errors import ConnectionFailure, ExecutionTimeout, WTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)
# A validation problem lists at most this many fields, each name cut to FIELD_NAME_CHARS, so a
# body of many bad keys never gets an answer much larger than itself.
MAX_VALIDATION_ERRORS = 20
FIELD_NAME_CHARS = 100
# Errors that mean "MongoDB is unreachable or overloaded right now", not "the request is wrong".
# ConnectionFailure covers AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError and
# WaitQueueTimeoutError.
MONGODB_UNAVAILABLE = (ConnectionFailure, ExecutionTimeout, WTimeoutError)
RETRY_AFTER_SECONDS = 5


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
    for error_type in MONGODB_UNAVAILABLE:
        app.add_exception_handler(error_type, _on_mongodb_unavailable)
    app.add_exception_handler(Exception, _on_unexpected_error)


def service_unavailable(detail: str, retry_after: int = RETRY_AFTER_SECONDS) -> Problem:
    return Problem(
        HTTPStatus.SERVICE_UNAVAILABLE,
        detail,
        slug="unavailable",
        headers={"Retry-After": str(retry_after)},
    )


async def _on_mongodb_unavailable(request: Request, error: Exception) -> JSONResponse:
    log.warning("MongoDB unavailable on %s %s: %r", request.method, request.url.path, error)
    return service_unavailable("The database is not reachable; try again shortly.").response()


async def _on_problem(_: Request, problem: Problem) -> JSONResponse:
    return problem.response()


async def _on_http_exception(request: Request, error: StarletteHTTPException) -> JSONResponse:
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    if error.status_code == HTTPStatus.NOT_FOUND and detail == "Not Found":
        detail = f"No resource at {request.url.path}"
    elif error.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        detail = f"{request.method} is not allowed on {request.url.path}"
        # Starlette names only the first route that matched the path; list them all.
        return Problem(
            error.status_code, detail, headers={"Allow": _allowed_methods(request)}
        ).response()
    return Problem(error.status_code, detail, headers=getattr(error, "headers", None)).response()


def _allowed_methods(request: Request) -> str:
    methods = {
        method
        for method in ("DELETE", "GET", "PATCH", "POST", "PUT")
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    }
    if "GET" in methods:
        methods.add("HEAD")  # HeadAsGet answers HEAD wherever GET is routed
    return ", ".join(sorted(methods))


async def _on_validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
    errors = error.errors()
    if any(item.get("type") == "json_invalid" for item in errors):
        return Problem(
            HTTPStatus.BAD_REQUEST, "The request body is not valid JSON.", slug="malformed-json"
        ).response()
    fields = [
        {
            "field": (
                ".".join(str(part) for part in item.get("loc", ()) if part != "body") or "body"
            )[:FIELD_NAME_CHARS],
            "message": str(item.get("msg", "invalid"))[: FIELD_NAME_CHARS * 2],
            "type": item.get("type", "invalid"),
        }
        for item in errors[:MAX_VALIDATION_ERRORS]
    ]
    extra: dict[str, Any] = {}
    if len(errors) > MAX_VALIDATION_ERRORS:
        extra["errors_omitted"] = len(errors) - MAX_VALIDATION_ERRORS
    return Problem(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "The request has invalid fields.",
        slug="validation",
        errors=fields,
        **extra,
    ).response()


async def _on_unexpected_error(request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return Problem(
        HTTPStatus.INTERNAL_SERVER_ERROR, "An unexpected error occurred; it has been logged."
    ).response()


class ValidationIssue(BaseModel):
    field: str
    message: str
    type: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, as every error of this API is shaped."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ValidationIssue] | None = None
    errors_omitted: int | None = None


_DESCRIPTIONS = {
    400: "Malformed request: invalid JSON, cursor or header",
    401: "Missing, invalid or expired credentials",
    403: "Not allowed for this user",
    404: "Not found",
    405: "Method not allowed on this path",
    409: "Conflict with the current state",
    413: "Request body too large",
    422: "Invalid fields",
    429: "Rate limit exceeded; see Retry-After",
    500: "Unexpected error (logged, no internals)",
    503: "Temporarily unavailable (database unreachable or server busy); see Retry-After",
}
# What any route can answer, whatever it does.
COMMON_STATUSES = (413, 422, 500, 503)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for problem+json statuses, plus those every route can return."""
    return {
        status: {
            "description": _DESCRIPTIONS[status],
            "model": ProblemDetails,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
        }
        for status in sorted({*statuses, *COMMON_STATUSES})
    }
