"""post_views: a post with its author embedded and its counts; deleted posts are removed.

Written only by `PostsProjection`: it follows posts (the view itself, and the parent's reply
count, recounted at the end of a batch) and users (the author summary every view embeds).
"""

from datetime import datetime
from typing import Any, ClassVar, TypedDict, cast

from pymongo import ASCENDING, DESCENDING, IndexModel

from query_service.projector.projection import (
    Change,
    OwnedCollections,
    Projection,
    ProjectionContext,
)
from query_service.read_models import pagination
from query_service.read_models.names import POST_VIEWS, USER_VIEWS
from query_service.read_models.pagination import Page, Position
from service_kit.mongo import Database
from service_kit.write_model import POSTS, USERS

# Newest first with the id breaking ties: the order of every page and of its cursor.
NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]


class AuthorSummary(TypedDict):
    id: str
    handle: str
    display_name: str


class PostView(TypedDict):
    _id: str
    author_id: str
    author: AuthorSummary
    author_seq: int
    text: str
    created_at: datetime
    reply_to: str | None
    # The replied-to post's author when it is someone else (the Mastodon reply rule of home
    # timelines); None for a top-level post or a reply to oneself.
    reply_to_author_id: str | None
    like_count: int
    repost_count: int
    reply_count: int


def live_post(change: Change) -> dict[str, Any] | None:
    """The post a posts change leaves behind, or None when it is deleted or gone.

    `updateLookup` gives the current version, which may be newer than the change or None.
    """
    post = change.get("fullDocument")
    if change["operationType"] == "delete" or post is None or post.get("deleted_at") is not None:
        return None
    return cast(dict[str, Any], post)


def replied_to_other(post: dict[str, Any]) -> str | None:
    """The author a post replies to, unless it is a top-level post or a reply to oneself."""
    replied = post.get("reply_to_author_id")
    if replied is None or str(replied) == str(post["author_id"]):
        return None
    return str(replied)


class PostsProjection(Projection):
    name = "posts"
    consumes = (USERS, POSTS)
    owns: ClassVar[OwnedCollections] = {
        POST_VIEWS: [
            IndexModel([("author_id", ASCENDING), *NEWEST_FIRST], name="author_newest"),
            IndexModel([("author_id", ASCENDING), ("author_seq", ASCENDING)], name="author_seq"),
            IndexModel([("reply_to", ASCENDING)], name="replies_to", sparse=True),
            # timelines.py: replies to an account by the accounts a new follower follows
            IndexModel(
                [("reply_to_author_id", ASCENDING), ("author_id", ASCENDING), *NEWEST_FIRST],
                name="replies_to_author",
            ),
        ]
    }

    async def apply(self, context: ProjectionContext, change: Change) -> None:
        if change["ns"]["coll"] == USERS:
            await self._refresh_author(context, change)
            return
        post_id = str(change["documentKey"]["_id"])
        post = live_post(change)
        if post is None:
            await self._remove(context, post_id, change.get("fullDocument"))
        else:
            await self._upsert(context, post_id, post)

    async def finish_batch(self, context: ProjectionContext) -> None:
        stale = context.stale_ids(self.name)
        views = context.collection(POST_VIEWS)
        for post_id in sorted(stale):
            replies = await views.count_documents({"reply_to": post_id})
            await views.update_one({"_id": post_id}, {"$set": {"reply_count": replies}})
        stale.clear()

    async def _upsert(self, context: ProjectionContext, post_id: str, post: dict[str, Any]) -> None:
        author_id = str(post["author_id"])
        reply_to = str(post["reply_to"]) if post.get("reply_to") else None
        await context.collection(POST_VIEWS).update_one(
            {"_id": post_id},
            {
                "$set": {
                    "author_id": author_id,
                    "author": await _author_summary(context, author_id),
                    "author_seq": int(post.get("author_seq", 0)),
                    "text": post["text"],
                    "created_at": post["created_at"],
                    "reply_to": reply_to,
                    "reply_to_author_id": replied_to_other(post),
                },
                "$setOnInsert": {"like_count": 0, "repost_count": 0, "reply_count": 0},
            },
            upsert=True,
        )
        context.stale_ids(self.name).update([post_id, reply_to] if reply_to else [post_id])

    async def _remove(
        self, context: ProjectionContext, post_id: str, tombstone: dict[str, Any] | None
    ) -> None:
        view = await context.collection(POST_VIEWS).find_one_and_delete({"_id": post_id})
        # The parent's reply count: from the tombstone, or from the view while it still existed.
        parent = (tombstone or {}).get("reply_to") or (view or {}).get("reply_to")
        if parent:
            context.stale_ids(self.name).add(str(parent))

    async def _refresh_author(self, context: ProjectionContext, change: Change) -> None:
        user = change.get("fullDocument")
        if user is None:
            return
        author_id = str(change["documentKey"]["_id"])
        author = {"id": author_id, "handle": user["handle"], "display_name": user["display_name"]}
        # Only views that show an outdated name are written.
        await context.collection(POST_VIEWS).update_many(
            {"author_id": author_id, "author": {"$ne": author}}, {"$set": {"author": author}}
        )


async def _author_summary(context: ProjectionContext, author_id: str) -> AuthorSummary:
    # A user's insert precedes their posts in the stream (and in a rebuild), so the view exists.
    author = await context.collection(USER_VIEWS).find_one(
        {"_id": author_id}, {"handle": 1, "display_name": 1}
    )
    if author is None:
        return {"id": author_id, "handle": "", "display_name": ""}
    return {"id": author_id, "handle": author["handle"], "display_name": author["display_name"]}


# ---- the read side -----------------------------------------------------------------------------


async def post_by_id(database: Database, post_id: str) -> PostView | None:
    found = await database[POST_VIEWS].find_one({"_id": post_id})
    return cast(PostView, found) if found else None


async def posts_by_author(
    database: Database, author_id: str, limit: int, position: Position | None
) -> Page[PostView]:
    query = {"author_id": author_id, **pagination.after(position, "_id")}
    found = await database[POST_VIEWS].find(query).sort(NEWEST_FIRST).limit(limit + 1).to_list(None)
    posts = cast(list[PostView], found)
    return pagination.page_of(posts, limit, lambda post: Position(post["created_at"], post["_id"]))


async def posts_in_order(database: Database, post_ids: list[str]) -> list[PostView]:
    """Hydrate a list of ids with one query; a post deleted meanwhile is simply left out."""
    if not post_ids:
        return []
    found = await database[POST_VIEWS].find({"_id": {"$in": post_ids}}).to_list(None)
    by_id = {post["_id"]: cast(PostView, post) for post in found}
    return [by_id[post_id] for post_id in post_ids if post_id in by_id]
