"""Editing your own profile: display name and bio."""

from bson import ObjectId

from command_service.write_model import users
from service_kit.auth import unauthorized
from service_kit.mongo import Database
from service_kit.tokens import Principal
from service_kit.write_model import UserDocument


async def update_profile(
    database: Database, user: Principal, *, display_name: str | None, bio: str | None
) -> UserDocument:
    """The profile after the change; fields left out (None) stay as they are."""
    user_id = ObjectId(user.user_id)
    await users.update_profile(database, user_id, display_name=display_name, bio=bio)
    profile = await users.find_user_by_id(database, user_id)
    if profile is None:  # the account went away between the token check and now
        raise unauthorized("The access token's user does not exist.")
    return profile
