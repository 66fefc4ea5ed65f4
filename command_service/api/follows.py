"""Following and unfollowing, both idempotent."""

from http import HTTPStatus

from fastapi import APIRouter, Response

from command_service.api.dependencies import CurrentWriter, WriteDatabase
from command_service.commands import follows
from service_kit.problems import problem_responses

router = APIRouter(tags=["follows"])


@router.put(
    "/users/{handle}/follow",
    status_code=HTTPStatus.NO_CONTENT,
    response_class=Response,
    summary="Follow a user (403 when one of you blocks the other)",
    responses=problem_responses(401, 403, 404, 429),
)
async def follow(handle: str, principal: CurrentWriter, database: WriteDatabase) -> None:
    await follows.follow(database, principal, handle)


@router.delete(
    "/users/{handle}/follow",
    status_code=HTTPStatus.NO_CONTENT,
    response_class=Response,
    summary="Unfollow a user",
    responses=problem_responses(401, 404, 429),
)
async def unfollow(handle: str, principal: CurrentWriter, database: WriteDatabase) -> None:
    await follows.unfollow(database, principal, handle)
