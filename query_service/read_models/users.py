"""user_views: a user's page, with follower, following and post counts.

Written by `UsersProjection`, except the counts: each follow edge and each post view counts into
them through `counters.py` as it is written (O(1) per change, exact under replays), so the
profile upsert only `$setOnInsert`s them. `USER_COUNTS` declares the counters and what they count.
"""

from datetime import datetime
from typing import Any, ClassVar, TypedDict, cast

from pymongo import ASCENDING, IndexModel

from query_service.projector.projection import (
    Change,
    OwnedCollections,
    Projection,
    ProjectionContext,
)
from query_service.read_models.counters import WITHOUT_MARKS, CountedDocument, Tally, wrote_counted
from query_service.read_models.names import FOLLOW_EDGES, POST_VIEWS, USER_VIEWS
from service_kit.mongo import Database
from service_kit.write_model import USERS

USER_COUNTS = CountedDocument(
    USER_VIEWS,
    identity="handle_lower",
    fields=(
        ("followers_count", Tally(FOLLOW_EDGES, "followee_id")),
        ("following_count", Tally(FOLLOW_EDGES, "follower_id")),
        ("posts_count", Tally(POST_VIEWS, "author_id")),
    ),
)


class UserView(TypedDict):
    _id: str
    handle: str
    handle_lower: str
    display_name: str
    bio: str
    created_at: datetime
    followers_count: int
    following_count: int
    posts_count: int


class UsersProjection(Projection):
    name = "users"
    consumes = (USERS,)
    owns: ClassVar[OwnedCollections] = {
        USER_VIEWS: [IndexModel([("handle_lower", ASCENDING)], unique=True, name="handle_unique")]
    }
    counted = (USER_COUNTS,)

    async def apply(self, context: ProjectionContext, change: Change) -> None:
        user_id = str(change["documentKey"]["_id"])
        user = change.get("fullDocument")
        if change["operationType"] == "delete" or user is None:
            # `updateLookup` gives None once the document is gone: the user no longer exists.
            if change["operationType"] != "insert":
                await context.collection(USER_VIEWS).delete_one({"_id": user_id})
            return
        await context.collection(USER_VIEWS).update_one(
            {"_id": user_id},
            {
                "$set": {
                    "handle": user["handle"],
                    "handle_lower": user["handle_lower"],
                    "display_name": user["display_name"],
                    "bio": user.get("bio", ""),
                    "created_at": user["created_at"],
                },
                # Counts are written only by the memberships they count, never here.
                "$setOnInsert": USER_COUNTS.zeros(),
            },
            upsert=True,
        )
        wrote_counted(context, USER_COUNTS, user_id)


# ---- the read side -----------------------------------------------------------------------------


async def user_by_handle(database: Database, handle: str) -> UserView | None:
    found: dict[str, Any] | None = await database[USER_VIEWS].find_one(
        {"handle_lower": handle.lower()}, WITHOUT_MARKS
    )
    return cast(UserView, found) if found else None


async def summaries_by_id(database: Database, user_ids: list[str]) -> dict[str, dict[str, str]]:
    """`{id, handle, display_name}` of these users, current names, in one query."""
    if not user_ids:
        return {}
    found = database[USER_VIEWS].find(
        {"_id": {"$in": list(dict.fromkeys(user_ids))}}, {"handle": 1, "display_name": 1}
    )
    return {
        user["_id"]: {
            "id": user["_id"],
            "handle": user["handle"],
            "display_name": user["display_name"],
        }
        async for user in found
    }


async def users_in_order(database: Database, user_ids: list[str]) -> list[UserView]:
    """Hydrate a list of user ids with one query; a user gone meanwhile is left out."""
    if not user_ids:
        return []
    found = await database[USER_VIEWS].find({"_id": {"$in": user_ids}}, WITHOUT_MARKS).to_list(None)
    by_id = {user["_id"]: cast(UserView, user) for user in found}
    return [by_id[user_id] for user_id in user_ids if user_id in by_id]
