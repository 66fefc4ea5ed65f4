"""timeline_entries: home timelines, fanned out on write. Both sides of the timeline live here.

The rule (the README's "What a timeline contains"), a function of the write model alone:
a user's home timeline holds every live post they wrote, and, for every account they follow now,
every live post of that account numbered above `start - backfill_limit`, where `start` is how many
posts the account had numbered when this follow was made (`followee_post_seq`). So a follow brings
in the account's `backfill_limit` posts before it and everything after it; an unfollow takes them
all out; a deleted post leaves every timeline. Numbers come from the author's own sequence, never
from clocks, so any interleaving, replay or rebuild ends in the same timelines.

Write side (`TimelinesProjection`): a new post goes to its author and to every follower whose
window admits it (in bulk chunks); a follow backfills its window from `post_views`; an unfollow
removes the author's entries from one timeline; a delete removes the post from all. Entries are
keyed by (owner, post), so every step can safely run again.
Read side (`home_timeline`): one indexed page of entries plus one batched hydration.
"""

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, ClassVar, TypedDict, cast

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne

from query_service.projector.projection import (
    Change,
    OwnedCollections,
    Projection,
    ProjectionContext,
)
from query_service.read_models import pagination
from query_service.read_models.follows import edge_exists, edge_of
from query_service.read_models.names import FOLLOW_EDGES, POST_VIEWS, TIMELINE_ENTRIES
from query_service.read_models.pagination import Page, Position
from query_service.read_models.posts import PostView, live_post, posts_in_order
from service_kit.mongo import Database
from service_kit.write_model import FOLLOWS, POSTS

TIMELINE_NEWEST_FIRST = [("created_at", DESCENDING), ("post_id", DESCENDING)]


class TimelineEntry(TypedDict):
    _id: str
    owner_id: str
    post_id: str
    author_id: str
    created_at: datetime


def timeline_entry_id(owner_id: str, post_id: str) -> str:
    return f"{owner_id}:{post_id}"


class TimelinesProjection(Projection):
    name = "timelines"
    consumes = (POSTS, FOLLOWS)
    owns: ClassVar[OwnedCollections] = {
        TIMELINE_ENTRIES: [
            IndexModel([("owner_id", ASCENDING), *TIMELINE_NEWEST_FIRST], name="owner_newest"),
            IndexModel([("post_id", ASCENDING)], name="by_post"),
            IndexModel([("owner_id", ASCENDING), ("author_id", ASCENDING)], name="owner_author"),
        ]
    }

    async def apply(self, context: ProjectionContext, change: Change) -> None:
        if change["ns"]["coll"] == POSTS:
            post_id = str(change["documentKey"]["_id"])
            post = live_post(change)
            if post is None:
                await remove_post(context, post_id)
            elif change["operationType"] == "insert":
                await deliver_post(context, post_id, post)
            return
        follower_id, followee_id = edge_of(change)
        if edge_exists(change):
            start = int(change["fullDocument"].get("followee_post_seq", 0))
            await backfill(context, follower_id, followee_id, start)
        else:
            await remove_author(context, follower_id, followee_id)


def first_number_shown(start: int, backfill_limit: int) -> int:
    """The lowest post number a follow that started at `start` puts into the timeline."""
    return start - backfill_limit + 1


async def deliver_post(context: ProjectionContext, post_id: str, post: dict[str, Any]) -> None:
    """Put a new post into its author's timeline and into every follower's whose window admits it."""
    author_id = str(post["author_id"])
    chunk: list[UpdateOne] = []
    async for owner_id in _timeline_owners(context, author_id, int(post.get("author_seq", 0))):
        chunk.append(_entry_upsert(owner_id, post_id, author_id, post["created_at"]))
        if len(chunk) >= context.settings.fanout_chunk:
            await _write_entries(context, chunk)
            chunk = []
    if chunk:
        await _write_entries(context, chunk)


async def backfill(
    context: ProjectionContext, follower_id: str, followee_id: str, start: int
) -> None:
    """Copy every projected post of the followee inside the follow's window into the timeline.

    Runs on every application of the follow (a crash may have come between the edge and this);
    posts after the follow that are not projected yet arrive through `deliver_post`.
    """
    window = context.collection(POST_VIEWS).find(
        {
            "author_id": followee_id,
            "author_seq": {"$gte": first_number_shown(start, context.settings.backfill_limit)},
        },
        {"created_at": 1},
    )
    entries = [
        _entry_upsert(follower_id, post["_id"], followee_id, post["created_at"])
        async for post in window
    ]
    for first in range(0, len(entries), context.settings.fanout_chunk):
        await _write_entries(context, entries[first : first + context.settings.fanout_chunk])


async def remove_author(context: ProjectionContext, owner_id: str, author_id: str) -> None:
    """Take an unfollowed author's posts out of one timeline."""
    await context.collection(TIMELINE_ENTRIES).delete_many(
        {"owner_id": owner_id, "author_id": author_id}
    )


async def remove_post(context: ProjectionContext, post_id: str) -> None:
    await context.collection(TIMELINE_ENTRIES).delete_many({"post_id": post_id})


async def _timeline_owners(
    context: ProjectionContext, author_id: str, number: int
) -> AsyncIterator[str]:
    yield author_id
    # Followers whose window starts at or below this post's number: start - limit + 1 <= number.
    followers = context.collection(FOLLOW_EDGES).find(
        {
            "followee_id": author_id,
            "followee_post_seq": {"$lt": number + context.settings.backfill_limit},
        },
        {"follower_id": 1},
    )
    async for edge in followers:
        yield edge["follower_id"]


async def _write_entries(context: ProjectionContext, chunk: list[UpdateOne]) -> None:
    """The one place timeline entries are written: one bulk write, counted."""
    await context.collection(TIMELINE_ENTRIES).bulk_write(chunk, ordered=False)
    context.on_fanout(len(chunk))


def _entry_upsert(owner_id: str, post_id: str, author_id: str, created_at: datetime) -> UpdateOne:
    return UpdateOne(
        {"_id": timeline_entry_id(owner_id, post_id)},
        {
            "$set": {
                "owner_id": owner_id,
                "post_id": post_id,
                "author_id": author_id,
                "created_at": created_at,
            }
        },
        upsert=True,
    )


# ---- the read side -----------------------------------------------------------------------------


async def home_timeline(
    database: Database, owner_id: str, limit: int, position: Position | None
) -> Page[PostView]:
    query = {"owner_id": owner_id, **pagination.after(position, "post_id")}
    found = (
        await database[TIMELINE_ENTRIES]
        .find(query)
        .sort(TIMELINE_NEWEST_FIRST)
        .limit(limit + 1)
        .to_list(None)
    )
    entries = pagination.page_of(
        cast(list[TimelineEntry], found),
        limit,
        lambda entry: Position(entry["created_at"], entry["post_id"]),
    )
    posts = await posts_in_order(database, [entry["post_id"] for entry in entries.items])
    return Page(posts, entries.next_position)
