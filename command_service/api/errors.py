"""How command errors read over HTTP."""

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from command_service.commands import errors
from command_service.passwords import HashingBusy
from service_kit.problems import Problem, service_unavailable

_STATUS: dict[type[errors.CommandError], tuple[HTTPStatus, str, str]] = {
    errors.HandleTaken: (HTTPStatus.CONFLICT, "handle-taken", "The handle {0!r} is taken."),
    errors.InvalidCredentials: (
        HTTPStatus.UNAUTHORIZED,
        "invalid-credentials",
        "The handle or the password is wrong.",
    ),
    errors.UserNotFound: (HTTPStatus.NOT_FOUND, "user-not-found", "No user has the handle {0!r}."),
    errors.PostNotFound: (HTTPStatus.NOT_FOUND, "post-not-found", "No post has the id {0!r}."),
    errors.NotPostAuthor: (
        HTTPStatus.FORBIDDEN,
        "not-post-author",
        "Only its author may delete a post.",
    ),
    errors.BlockedByAuthor: (
        HTTPStatus.FORBIDDEN,
        "blocked-by-author",
        "The author of the post {0!r} blocks you.",
    ),
    errors.CannotFollowSelf: (
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "cannot-follow-self",
        "You cannot follow or unfollow yourself.",
    ),
    errors.CannotBlockSelf: (
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "cannot-block-self",
        "You cannot block or unblock yourself.",
    ),
    errors.Blocked: (
        HTTPStatus.FORBIDDEN,
        "blocked",
        "You cannot {0}: one of you blocks the other.",
    ),
    errors.InvalidRefreshToken: (
        HTTPStatus.UNAUTHORIZED,
        "invalid-refresh-token",
        "The refresh token is invalid, expired, revoked or already used; sign in again.",
    ),
    errors.IdempotencyKeyInUse: (
        HTTPStatus.CONFLICT,
        "idempotency-key-in-use",
        "A request with this Idempotency-Key is still being processed; retry shortly.",
    ),
    errors.IdempotencyKeyReused: (
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "idempotency-key-reused",
        "This Idempotency-Key was used for a different request.",
    ),
}
_HEADERS: dict[type[errors.CommandError], dict[str, str]] = {
    errors.IdempotencyKeyInUse: {"Retry-After": "1"},
}


async def _on_command_error(_: Request, error: errors.CommandError) -> JSONResponse:
    status, slug, template = _STATUS[type(error)]
    headers = _HEADERS.get(type(error))
    return Problem(status, template.format(*error.args), slug=slug, headers=headers).response()


async def _on_hashing_busy(_: Request, error: HashingBusy) -> JSONResponse:
    return service_unavailable(
        "Too many sign-ins and sign-ups are being processed; try again shortly.", retry_after=2
    ).response()


def install_command_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.CommandError, _on_command_error)  # type: ignore[arg-type]
    app.add_exception_handler(HashingBusy, _on_hashing_busy)  # type: ignore[arg-type]
