"""Following and unfollowing, both idempotent."""

from http import HTTPStatus

from fastapi import APIRouter

from command_service.api.dependencies import WriteDatabase
from command_service.commands import follows
from service_kit.auth import CurrentPrincipal

router = APIRouter(tags=["follows"])


@router.put("/users/{handle}/follow", status_code=HTTPStatus.NO_CONTENT, summary="Follow a user")
async def follow(handle: str, principal: CurrentPrincipal, database: WriteDatabase) -> None:
    await follows.follow(database, principal, handle)


@router.delete(
    "/users/{handle}/follow", status_code=HTTPStatus.NO_CONTENT, summary="Unfollow a user"
)
async def unfollow(handle: str, principal: CurrentPrincipal, database: WriteDatabase) -> None:
    await follows.unfollow(database, principal, handle)
