"""Editing your own profile."""

from fastapi import APIRouter

from command_service.api.dependencies import CurrentWriter, WriteDatabase
from command_service.api.schemas import Profile, UpdateProfile
from command_service.commands import profile
from service_kit.problems import problem_responses

router = APIRouter(tags=["accounts"])


@router.patch(
    "/users/me",
    summary="Change your display name, your bio or both",
    responses=problem_responses(400, 401, 429),
)
async def update_profile(
    body: UpdateProfile, principal: CurrentWriter, database: WriteDatabase
) -> Profile:
    user = await profile.update_profile(
        database, principal, display_name=body.display_name, bio=body.bio
    )
    return Profile(
        id=str(user["_id"]),
        handle=user["handle"],
        display_name=user["display_name"],
        bio=user["bio"],
    )
