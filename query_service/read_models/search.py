"""Search: posts by their words and hashtags, users by the start of their handle or name.

Posts: every view in `post_views` carries `terms` (`service_kit.text.search_terms_of`, written by
`PostsProjection`), a multikey index `terms_newest` serves `{"terms": {"$all": ...}}` newest first.
No `$text`: the embedded store lacks it, and exact terms are what the API promises.

Users: `user_search_keys` (owned here, `UserSearchProjection`) holds two keys per user, the
handle and the case-folded display name, each a document ordered by (key, _id), so a prefix is one
index range scan. A user whose handle and name both start with `q` is listed once, through the
handle (the name's key is filtered out in the query, so pages stay full).
"""

from dataclasses import dataclass
from typing import Any, ClassVar, TypedDict, cast

from pymongo import ASCENDING, IndexModel, UpdateOne

from query_service.projector.projection import (
    Change,
    OwnedCollections,
    Projection,
    ProjectionContext,
)
from query_service.read_models import pagination
from query_service.read_models.names import POST_VIEWS, USER_SEARCH_KEYS
from query_service.read_models.pagination import KeyPosition, Page, Position
from query_service.read_models.posts import NEWEST_FIRST, PostView
from query_service.read_models.users import UserView, users_in_order
from service_kit.mongo import Database
from service_kit.text import fold, search_terms_of
from service_kit.write_model import USERS

# Above every character a key can hold (text rules refuse noncharacters such as U+10FFFF), so
# [prefix, prefix + TOP) is exactly the keys that start with the prefix.
TOP = "\U0010ffff"


class UserSearchKey(TypedDict):
    _id: str  # "<user id>:handle" or "<user id>:name"
    user_id: str
    kind: str  # handle | name
    key: str
    handle_key: str


def search_key_ids(user_id: str) -> list[str]:
    return [f"{user_id}:handle", f"{user_id}:name"]


class UserSearchProjection(Projection):
    name = "user_search"
    consumes = (USERS,)
    owns: ClassVar[OwnedCollections] = {
        USER_SEARCH_KEYS: [IndexModel([("key", ASCENDING), ("_id", ASCENDING)], name="key_order")]
    }

    async def apply(self, context: ProjectionContext, change: Change) -> None:
        user_id = str(change["documentKey"]["_id"])
        keys = context.collection(USER_SEARCH_KEYS)
        user = change.get("fullDocument")
        if change["operationType"] == "delete" or user is None:
            await keys.delete_many({"_id": {"$in": search_key_ids(user_id)}})
            return
        handle_key = fold(user["handle"])
        written = zip(
            search_key_ids(user_id),
            ("handle", "name"),
            (handle_key, fold(user["display_name"])),
            strict=True,
        )
        await keys.bulk_write(
            [
                UpdateOne(
                    {"_id": key_id},
                    {
                        "$set": {
                            "user_id": user_id,
                            "kind": kind,
                            "key": key,
                            "handle_key": handle_key,
                        }
                    },
                    upsert=True,
                )
                for key_id, kind, key in written
            ],
            ordered=False,
        )


# ---- the read side -----------------------------------------------------------------------------


def query_terms(q: str) -> list[str]:
    """What a post must contain for `q`: the same terms a post is indexed by."""
    return search_terms_of(q)


@dataclass(frozen=True)
class UserPage:
    items: list[UserView]
    next_position: KeyPosition | None


async def search_posts(
    database: Database,
    terms: list[str],
    limit: int,
    position: Position | None,
    hidden_authors: set[str] | frozenset[str] = frozenset(),
) -> Page[PostView]:
    """Posts holding every one of `terms`, newest first, without those of `hidden_authors`."""
    query: dict[str, Any] = {"terms": {"$all": terms}, **pagination.after(position, "_id")}
    if hidden_authors:
        query["author_id"] = {"$nin": sorted(hidden_authors)}
    found = await database[POST_VIEWS].find(query).sort(NEWEST_FIRST).limit(limit + 1).to_list(None)
    posts = cast(list[PostView], found)
    return pagination.page_of(posts, limit, lambda post: Position(post["created_at"], post["_id"]))


async def search_users(
    database: Database, q: str, limit: int, position: KeyPosition | None
) -> UserPage:
    """Users whose handle or display name starts with `q` (case-insensitive), by that key."""
    prefix = fold(q)
    starts = {"$gte": prefix, "$lt": prefix + TOP}
    # A name key is left out when the handle matches too: the handle's key lists that user.
    once = {
        "$or": [
            {"kind": "handle"},
            {"handle_key": {"$lt": prefix}},
            {"handle_key": {"$gte": prefix + TOP}},
        ]
    }
    after = pagination.key_after(position, "key")
    query = {"key": starts, "$and": [once, after] if after else [once]}
    found = (
        await database[USER_SEARCH_KEYS]
        .find(query, {"user_id": 1, "key": 1})
        .sort([("key", ASCENDING), ("_id", ASCENDING)])
        .limit(limit + 1)
        .to_list(None)
    )
    shown, more = found[:limit], len(found) > limit
    users = await users_in_order(database, [key["user_id"] for key in shown])
    last = KeyPosition(shown[-1]["key"], shown[-1]["_id"]) if more else None
    return UserPage(users, last)
