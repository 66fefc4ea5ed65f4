"""Blocking and unblocking, both idempotent."""

from http import HTTPStatus

from fastapi import APIRouter, Response

from command_service.api.dependencies import CurrentWriter, WriteDatabase
from command_service.commands import blocks
from service_kit.problems import problem_responses

router = APIRouter(tags=["blocks"])


@router.put(
    "/users/{handle}/block",
    status_code=HTTPStatus.NO_CONTENT,
    response_class=Response,
    summary="Block a user: ends the follows both ways; neither may follow or reply to the other",
    responses=problem_responses(401, 404, 429),
)
async def block(handle: str, principal: CurrentWriter, database: WriteDatabase) -> None:
    await blocks.block(database, principal, handle)


@router.delete(
    "/users/{handle}/block",
    status_code=HTTPStatus.NO_CONTENT,
    response_class=Response,
    summary="Unblock a user",
    responses=problem_responses(401, 404, 429),
)
async def unblock(handle: str, principal: CurrentWriter, database: WriteDatabase) -> None:
    await blocks.unblock(database, principal, handle)
