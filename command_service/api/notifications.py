"""Marking notifications read."""

from http import HTTPStatus

from fastapi import APIRouter, Response

from command_service.api.dependencies import CurrentWriter, WriteDatabase
from command_service.api.schemas import MarkNotificationsRead
from command_service.commands import notifications
from service_kit.problems import problem_responses

router = APIRouter(tags=["notifications"])


@router.post(
    "/notifications/read",
    status_code=HTTPStatus.NO_CONTENT,
    response_class=Response,
    summary="Mark notifications read up to one of them (moving back un-reads nothing)",
    responses=problem_responses(400, 401, 429),
)
async def mark_read(
    body: MarkNotificationsRead, principal: CurrentWriter, database: WriteDatabase
) -> None:
    await notifications.mark_read(database, principal, body.position())
