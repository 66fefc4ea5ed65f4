"""user_views: a user's page, with follower, following and post counts.

Written only by `UsersProjection`. The counts are recounted from `follow_edges` and `post_views`
at the end of every batch that touched them, so a replayed or repeated change never counts twice.
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
from query_service.read_models.names import FOLLOW_EDGES, POST_VIEWS, USER_VIEWS
from service_kit.mongo import Database
from service_kit.write_model import FOLLOWS, POSTS, USERS


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
    consumes = (USERS, POSTS, FOLLOWS)
    owns: ClassVar[OwnedCollections] = {
        USER_VIEWS: [IndexModel([("handle_lower", ASCENDING)], unique=True, name="handle_unique")]
    }

    async def apply(self, context: ProjectionContext, change: Change) -> None:
        collection = change["ns"]["coll"]
        if collection == USERS:
            await self._project_user(context, change)
        elif collection == FOLLOWS:
            key = change["documentKey"]["_id"]
            context.stale_ids(self.name).update((str(key["follower"]), str(key["followee"])))
        elif collection == POSTS:
            author_id = await _author_of(context, change)
            if author_id is not None:
                context.stale_ids(self.name).add(author_id)

    async def finish_batch(self, context: ProjectionContext) -> None:
        stale = context.stale_ids(self.name)
        for user_id in sorted(stale):
            edges, posts = context.collection(FOLLOW_EDGES), context.collection(POST_VIEWS)
            counts = {
                "followers_count": await edges.count_documents({"followee_id": user_id}),
                "following_count": await edges.count_documents({"follower_id": user_id}),
                "posts_count": await posts.count_documents({"author_id": user_id}),
            }
            await context.collection(USER_VIEWS).update_one({"_id": user_id}, {"$set": counts})
        stale.clear()

    async def _project_user(self, context: ProjectionContext, change: Change) -> None:
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
                "$setOnInsert": {"followers_count": 0, "following_count": 0, "posts_count": 0},
            },
            upsert=True,
        )
        context.stale_ids(self.name).add(user_id)


async def _author_of(context: ProjectionContext, change: Change) -> str | None:
    """The author of a changed post: from the change, or from its view once the post is gone.

    This projection runs before `PostsProjection` removes the view. A post deleted outright (the
    application only ever tombstones) whose view is gone already leaves no author to recount.
    """
    post = change.get("fullDocument")
    if post is not None and "author_id" in post:
        return str(post["author_id"])
    view = await context.collection(POST_VIEWS).find_one(
        {"_id": str(change["documentKey"]["_id"])}, {"author_id": 1}
    )
    return str(view["author_id"]) if view else None


# ---- the read side -----------------------------------------------------------------------------


async def user_by_handle(database: Database, handle: str) -> UserView | None:
    found: dict[str, Any] | None = await database[USER_VIEWS].find_one(
        {"handle_lower": handle.lower()}
    )
    return cast(UserView, found) if found else None


async def users_in_order(database: Database, user_ids: list[str]) -> list[UserView]:
    """Hydrate a list of user ids with one query; a user gone meanwhile is left out."""
    if not user_ids:
        return []
    found = await database[USER_VIEWS].find({"_id": {"$in": user_ids}}).to_list(None)
    by_id = {user["_id"]: cast(UserView, user) for user in found}
    return [by_id[user_id] for user_id in user_ids if user_id in by_id]
