"""post_views: a post with its author embedded and its counts; deleted posts are removed.

Written only by `PostsProjection`: it follows posts (the view itself) and users (the author
summary every view embeds). A view counts into its author's `posts_count` and, for a reply, its
parent's `reply_count` (`counters.py`); its own counters are written only by what they count
(replies here, likes and reposts by `ReactionsProjection`).

Each view also carries what the discovery lists query it by: its search `terms` (`search.py`)
and whether explore shows it (`explore.py`); those modules hold the queries, this one the writes.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, TypedDict, cast

from pymongo import ASCENDING, DESCENDING, IndexModel

from query_service.projector.projection import (
    Change,
    OwnedCollections,
    Projection,
    ProjectionContext,
)
from query_service.read_models import counters, pagination
from query_service.read_models.counters import WITHOUT_MARKS, CountedDocument, Counter, Tally
from query_service.read_models.hashtags import bucket_counters
from query_service.read_models.names import POST_REACTIONS, POST_VIEWS, USER_VIEWS
from query_service.read_models.pagination import Page, Position
from query_service.read_models.users import USER_COUNTS
from service_kit.mongo import Database
from service_kit.text import search_terms_of
from service_kit.write_model import POSTS, USERS

# Newest first with the id breaking ties: the order of every page and of its cursor.
NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]
POST_COUNTS = CountedDocument(
    POST_VIEWS,
    identity="author_id",
    fields=(
        ("like_count", Tally(POST_REACTIONS, "post_id", where=(("kind", "like"),))),
        ("repost_count", Tally(POST_REACTIONS, "post_id", where=(("kind", "repost"),))),
        ("reply_count", Tally(POST_VIEWS, "reply_to")),
    ),
)


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
    terms: list[str]  # what search finds it by (`service_kit.text.search_terms_of`)
    in_explore: bool


def live_post(change: Change) -> dict[str, Any] | None:
    """The post a posts change leaves behind, or None when it is deleted or gone.

    `updateLookup` gives the current version, which may be newer than the change or None.
    """
    post = change.get("fullDocument")
    if change["operationType"] == "delete" or post is None or post.get("deleted_at") is not None:
        return None
    return cast(dict[str, Any], post)


def shown_in_explore(post: dict[str, Any]) -> bool:
    """Explore shows what Mastodon's public timeline shows: posts that start a conversation, and
    authors' replies to themselves (threads), but not replies to others."""
    return post.get("reply_to") is None or post.get("reply_to_author_id") == post["author_id"]


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
            # A post's replies, oldest first (the replies list), and their count.
            IndexModel(
                [("reply_to", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)],
                name="replies_in_order",
            ),
            # Explore (`explore.py`) and search (`search.py`) read these fields; this projection
            # writes them with the rest of the view.
            IndexModel([("in_explore", ASCENDING), *NEWEST_FIRST], name="explore_newest"),
            IndexModel([("terms", ASCENDING), *NEWEST_FIRST], name="terms_newest"),
            # timelines.py: replies to an account by the accounts a new follower follows
            IndexModel(
                [("reply_to_author_id", ASCENDING), ("author_id", ASCENDING), *NEWEST_FIRST],
                name="replies_to_author",
            ),
        ]
    }
    counted = (POST_COUNTS,)

    async def apply(self, context: ProjectionContext, change: Change) -> None:
        if change["ns"]["coll"] == USERS:
            await self._refresh_author(context, change)
            return
        post = live_post(change)
        view = None if post is None else await _view_update(context, post)
        # What the view counts into: from the post, or from the view a delete removes.
        await counters.change_membership(
            context,
            change,
            POST_VIEWS,
            str(change["documentKey"]["_id"]),
            view,
            lambda before: counted_by(post or before or change.get("fullDocument")),
            counted=POST_COUNTS,
        )

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


def counted_by(post: Mapping[str, Any] | None) -> list[Counter]:
    """The counters a post's view counts into (a write-model post, or the view itself)."""
    if post is None:
        return []
    found = [USER_COUNTS.counter(str(post["author_id"]), "posts_count")]
    if post.get("reply_to"):
        found.append(POST_COUNTS.counter(str(post["reply_to"]), "reply_count"))
    return found + bucket_counters(post)


async def _view_update(context: ProjectionContext, post: dict[str, Any]) -> dict[str, Any]:
    author_id = str(post["author_id"])
    return {
        "$set": {
            "author_id": author_id,
            "author": await _author_summary(context, author_id),
            "author_seq": int(post.get("author_seq", 0)),
            "text": post["text"],
            "created_at": post["created_at"],
            "reply_to": str(post["reply_to"]) if post.get("reply_to") else None,
            "reply_to_author_id": replied_to_other(post),
            "terms": search_terms_of(post["text"]),
            "in_explore": shown_in_explore(post),
        },
        # Counts are written only by the memberships they count (a stub's are kept).
        "$setOnInsert": POST_COUNTS.zeros(),
    }


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
    found = await database[POST_VIEWS].find_one({"_id": post_id}, WITHOUT_MARKS)
    return cast(PostView, found) if found else None


async def posts_by_author(
    database: Database, author_id: str, limit: int, position: Position | None
) -> Page[PostView]:
    query = {"author_id": author_id, **pagination.after(position, "_id")}
    found = (
        await database[POST_VIEWS]
        .find(query, WITHOUT_MARKS)
        .sort(NEWEST_FIRST)
        .limit(limit + 1)
        .to_list(None)
    )
    posts = cast(list[PostView], found)
    return pagination.page_of(posts, limit, lambda post: Position(post["created_at"], post["_id"]))


async def posts_in_order(database: Database, post_ids: list[str]) -> list[PostView]:
    """Hydrate a list of ids with one query; a post deleted meanwhile is simply left out."""
    if not post_ids:
        return []
    found = await database[POST_VIEWS].find({"_id": {"$in": post_ids}}, WITHOUT_MARKS).to_list(None)
    by_id = {post["_id"]: cast(PostView, post) for post in found}
    return [by_id[post_id] for post_id in post_ids if post_id in by_id]


async def replies_to(
    database: Database,
    post_id: str,
    limit: int,
    position: Position | None,
    hidden_authors: set[str] | frozenset[str] = frozenset(),
) -> Page[PostView]:
    """A post's replies, oldest first; replies by `hidden_authors` (blocked) are not in it."""
    query: dict[str, Any] = {"reply_to": post_id, **pagination.later_than(position, "_id")}
    if hidden_authors:
        query["author_id"] = {"$nin": sorted(hidden_authors)}
    found = (
        await database[POST_VIEWS]
        .find(query)
        .sort([("created_at", ASCENDING), ("_id", ASCENDING)])
        .limit(limit + 1)
        .to_list(None)
    )
    replies = cast(list[PostView], found)
    return pagination.page_of(
        replies, limit, lambda reply: Position(reply["created_at"], reply["_id"])
    )
