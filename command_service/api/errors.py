"""How command errors read over HTTP."""

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from command_service.commands import errors
from service_kit.problems import Problem

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
    errors.CannotFollowSelf: (
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "cannot-follow-self",
        "You cannot follow or unfollow yourself.",
    ),
}


async def _on_command_error(_: Request, error: errors.CommandError) -> JSONResponse:
    status, slug, template = _STATUS[type(error)]
    return Problem(status, template.format(*error.args), slug=slug).response()


def install_command_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.CommandError, _on_command_error)  # type: ignore[arg-type]
