"""Users in the write model."""

from typing import cast

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from command_service.write_model.command_scope import session_options, stamped, wrote
from service_kit.clock import utc_now
from service_kit.mongo import Database
from service_kit.text import handle_key
from service_kit.write_model import USERS, UserDocument


class HandleAlreadyStored(Exception):
    pass


async def find_user_by_handle(database: Database, handle: str) -> UserDocument | None:
    """The user with this handle, ignoring case; None for anything sign-up would not accept."""
    key = handle_key(handle)
    if key is None:
        return None
    found = await database[USERS].find_one({"handle_lower": key})
    return cast(UserDocument, found) if found else None


async def find_user_by_id(database: Database, user_id: ObjectId) -> UserDocument | None:
    found = await database[USERS].find_one({"_id": user_id})
    return cast(UserDocument, found) if found else None


async def find_users_by_handles(database: Database, handles: list[str]) -> list[UserDocument]:
    """The users with these (lowercased) handles, in one query; unknown handles are left out."""
    if not handles:
        return []
    found = await database[USERS].find({"handle_lower": {"$in": handles}}).to_list(None)
    by_handle = {user["handle_lower"]: cast(UserDocument, user) for user in found}
    return [by_handle[handle] for handle in handles if handle in by_handle]


async def user_exists(database: Database, user_id: ObjectId) -> bool:
    return await database[USERS].find_one({"_id": user_id}, projection={"_id": 1}) is not None


async def insert_user(
    database: Database, *, handle: str, display_name: str, password_hash: str
) -> UserDocument:
    now = utc_now()
    user = UserDocument(
        _id=ObjectId(),
        handle=handle,
        handle_lower=handle.lower(),
        display_name=display_name,
        bio="",
        password_hash=password_hash,
        created_at=now,
        updated_at=now,
    )
    try:
        await database[USERS].insert_one(stamped(dict(user)), **session_options())
    except DuplicateKeyError as error:  # the unique index settles concurrent sign-ups
        raise HandleAlreadyStored(handle) from error
    wrote()
    return user


async def replace_password_hash(database: Database, user_id: ObjectId, password_hash: str) -> None:
    # A new hash changes nothing a reader sees: no consistency token for it.
    await database[USERS].update_one(
        {"_id": user_id},
        {"$set": stamped({"password_hash": password_hash, "updated_at": utc_now()})},
        **session_options(),
    )


async def update_profile(
    database: Database, user_id: ObjectId, *, display_name: str | None, bio: str | None
) -> None:
    fields: dict[str, str] = {}
    if display_name is not None:
        fields["display_name"] = display_name
    if bio is not None:
        fields["bio"] = bio
    if fields:
        # Only a real change is written: repeating an edit records no change and no token.
        differs = [{name: {"$ne": value}} for name, value in fields.items()]
        result = await database[USERS].update_one(
            {"_id": user_id, "$or": differs},
            {"$set": stamped({**fields, "updated_at": utc_now()})},
            **session_options(),
        )
        if result.modified_count:
            wrote()
