"""Home timelines, fanned out on write.

A new post is written into the timeline of its author and of every follower. Following someone
copies their recent posts in (backfill); unfollowing takes them out; deleting a post takes it out
of every timeline. Entries are keyed by (owner, post), so every step can safely run twice.
"""

from collections.abc import AsyncIterator
from datetime import datetime

from pymongo import UpdateOne

from query_service.projector.context import ProjectionContext
from query_service.read_models.collections import (
    FOLLOW_EDGES,
    NEWEST_FIRST,
    POST_VIEWS,
    TIMELINE_ENTRIES,
    timeline_entry_id,
)


async def deliver_post(
    context: ProjectionContext, post_id: str, author_id: str, created_at: datetime
) -> None:
    """Put a new post into its author's timeline and into every follower's."""
    chunk: list[UpdateOne] = []
    async for owner_id in _timeline_owners(context, author_id):
        chunk.append(_entry_upsert(owner_id, post_id, author_id, created_at))
        if len(chunk) >= context.fanout_chunk:
            await context.database[TIMELINE_ENTRIES].bulk_write(chunk, ordered=False)
            chunk = []
    if chunk:
        await context.database[TIMELINE_ENTRIES].bulk_write(chunk, ordered=False)


async def backfill(
    context: ProjectionContext, follower_id: str, followee_id: str, followed_at: datetime
) -> None:
    """Copy the followee's most recent posts from before the follow into the follower's timeline.

    Posts after the follow arrive through `deliver_post`; bounding the backfill by the follow's
    time keeps a replayed follow from picking a different set of posts than the first run did.
    """
    if context.backfill_limit == 0:
        return
    recent = (
        context.database[POST_VIEWS]
        .find({"author_id": followee_id, "created_at": {"$lte": followed_at}}, {"created_at": 1})
        .sort(NEWEST_FIRST)
        .limit(context.backfill_limit)
    )
    entries = [
        _entry_upsert(follower_id, post["_id"], followee_id, post["created_at"])
        async for post in recent
    ]
    if entries:
        await context.database[TIMELINE_ENTRIES].bulk_write(entries, ordered=False)


async def remove_author(context: ProjectionContext, owner_id: str, author_id: str) -> None:
    """Take an unfollowed author's posts out of one timeline."""
    await context.database[TIMELINE_ENTRIES].delete_many(
        {"owner_id": owner_id, "author_id": author_id}
    )


async def remove_post(context: ProjectionContext, post_id: str) -> None:
    await context.database[TIMELINE_ENTRIES].delete_many({"post_id": post_id})


async def _timeline_owners(context: ProjectionContext, author_id: str) -> AsyncIterator[str]:
    yield author_id
    followers = context.database[FOLLOW_EDGES].find({"followee_id": author_id}, {"follower_id": 1})
    async for edge in followers:
        yield edge["follower_id"]


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
