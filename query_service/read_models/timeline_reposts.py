"""Reposts in home timelines: a repost brings the post into its reposter's followers' timelines.

The rule (the README's "What a timeline contains"), a function of the write model alone. Every
repost takes the next number in its reposter's sequence, shared with their posts
(`reposter_seq`), so a follow shows a followee's reposts by the same window as its posts. A
timeline holds an entry `{owner}:{post}:{reposter}`, dated by the repost, for every live repost
of a live post when

- the reposter is the owner, or an account the owner follows whose window admits the repost's
  number, and is not large (a large account's reposts are merged when a page is read, like its
  posts: `home_timeline.py`);
- the post is not the owner's own (their own posts are in their timeline already);
- neither the owner nor the post's author blocks the other.

A repost of a reply is not held to the reply rule (as in Mastodon: the repost is not a reply).
The post's own entry and those of its reposts are separate documents, so adding or removing one
never touches another, and the order changes arrive in does not matter; a page shows each post
once, at its newest entry, with who reposted it.

Races. A repost is in its reposter's lane and its post's (`projector/lanes.py`), so it is ordered
with follows of the reposter and with the post's delete; blocks are barriers. A follow's backfill
reads reposts of posts whose deletes are in other lanes, so it checks, after writing, that the
posts are still there (`timeline_entries.drop_entries_of_gone_posts`).
"""

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from pymongo import DESCENDING, DeleteMany

from query_service.projector.projection import Change, ProjectionContext
from query_service.read_models.blocks import block_exists, block_of, blocked_pairs
from query_service.read_models.names import (
    BLOCK_EDGES,
    FOLLOW_EDGES,
    POST_REACTIONS,
    POST_VIEWS,
    TIMELINE_ENTRIES,
)
from query_service.read_models.timeline_entries import (
    Bulk,
    entry_upsert,
    first_number_shown,
    is_large,
    large_among,
    newest_per_window,
    occurrence_id,
    schedule_trim,
    trim_due,
    window_audience,
)

# A reposter's reposts, newest first; ties by post (one repost per post and reposter), and across
# reposters by reposter: the order of a timeline's repost entries (`occurrence_id`).
REPOST_NEWEST_FIRST = [("created_at", DESCENDING), ("post_id", DESCENDING), ("user_id", DESCENDING)]
# A window that starts before every number: the owner's own reposts.
OWN = -(2**62)
REPOST_FIELDS = {
    "user_id": 1,
    "post_id": 1,
    "post_author_id": 1,
    "created_at": 1,
    "reposter_seq": 1,
}


def drop_reposts_by(owner_id: str, reposter_id: str) -> DeleteMany:
    """Remove from one timeline every entry a reposter's reposts put there."""
    return DeleteMany({"owner_id": owner_id, "reposted_by": reposter_id})


async def apply_repost(context: ProjectionContext, change: Change) -> None:
    key = change["documentKey"]["_id"]
    reposter_id, post_id = str(key["user"]), str(key["post"])
    repost = change.get("fullDocument")
    if change["operationType"] == "delete" or repost is None:
        await context.collection(TIMELINE_ENTRIES).delete_many(
            {"post_id": post_id, "reposted_by": reposter_id}
        )
        return
    await deliver_repost(context, reposter_id, post_id, repost)


async def deliver_repost(
    context: ProjectionContext, reposter_id: str, post_id: str, repost: dict[str, Any]
) -> None:
    """Put a repost into its reposter's timeline and, unless the reposter is large, into every
    follower's whose window admits its number (in bulk chunks)."""
    view = await context.collection(POST_VIEWS).find_one({"_id": post_id}, {"author_id": 1})
    if view is None or "author_id" not in view:  # deleted (or a rebuild's counter stub)
        return
    shown = {
        "user_id": reposter_id,
        "post_id": post_id,
        "post_author_id": str(view["author_id"]),
        "created_at": repost["created_at"],
    }
    number = int(repost.get("reposter_seq", 0))
    large = await is_large(context, reposter_id)
    bulk = Bulk(context)
    audience = window_audience(context, reposter_id, number, large)
    async for chunk in _chunks(audience, context.settings.fanout_chunk):
        await _write_reposts(context, bulk, chunk, [shown])
    await bulk.flush()


async def _chunks(items: AsyncIterator[str], size: int) -> AsyncIterator[list[str]]:
    chunk: list[str] = []
    async for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ---- backfills: a follow, an account crossing down, an unblock -----------------------------------


async def backfill_follow(
    context: ProjectionContext, bulk: Bulk, owner_id: str, reposter_id: str, first: int
) -> set[str]:
    """A follow of a small account: copy its newest C reposts numbered `first` or above (older
    ones have C newer entries). Returns the posts written, for the caller's check that they are
    still there once the bulk is flushed."""
    found = (
        context.collection(POST_REACTIONS)
        .find(
            {"user_id": reposter_id, "kind": "repost", "reposter_seq": {"$gte": first}},
            REPOST_FIELDS,
        )
        .sort(REPOST_NEWEST_FIRST)
        .limit(context.settings.timeline_max_entries)
    )
    reposts = [repost async for repost in found]
    return await _write_reposts(context, bulk, [owner_id], reposts)


async def backfill_groups(
    context: ProjectionContext, bulk: Bulk, reposter_id: str, groups: dict[int, list[str]]
) -> None:
    """An account crossing down: every follower takes the newest C of the account's reposts its
    window admits, from one scan of them shared by the followers whose windows start at the same
    number (`groups`: start -> followers). Crossings run between batches, when no lane is under
    way, so no delete can come between the scan and the writes."""
    wanted: dict[int, list[dict[str, Any]]] = {first: [] for first in groups}
    found = context.collection(POST_REACTIONS).find(
        {"user_id": reposter_id, "kind": "repost", "reposter_seq": {"$gte": min(groups)}},
        REPOST_FIELDS,
    )
    limit = context.settings.timeline_max_entries
    newest = newest_per_window(found.sort(REPOST_NEWEST_FIRST), "reposter_seq", groups, limit)
    async for repost, firsts in newest:
        for first in firsts:
            wanted[first].append(repost)
    for first, followers in groups.items():
        if wanted[first]:
            await _write_reposts(context, bulk, followers, wanted[first])


async def restore_after_unblock(context: ProjectionContext, owner_id: str, author_id: str) -> None:
    """An unblock: the author's posts come back through the reposts of the accounts the owner
    follows (and the owner's own), each within its window: the newest C of them."""
    windows = {owner_id: OWN}  # the owner's own reposts: all of them
    edges = context.collection(FOLLOW_EDGES).find(
        {"follower_id": owner_id}, {"followee_id": 1, "followee_post_seq": 1}
    )
    async for edge in edges:
        start = int(edge.get("followee_post_seq", 0))
        windows[edge["followee_id"]] = first_number_shown(start, context.settings.backfill_limit)
    for large in await large_among(context, sorted(windows)):
        del windows[large]
    if not windows:
        return
    found = context.collection(POST_REACTIONS).find(
        {"kind": "repost", "post_author_id": author_id, "user_id": {"$in": sorted(windows)}},
        REPOST_FIELDS,
    )
    admitted = [
        repost
        async for repost in found
        if int(repost.get("reposter_seq", 0)) >= windows[repost["user_id"]]
    ]
    admitted.sort(key=_newest_first_key, reverse=True)
    bulk = Bulk(context)
    newest = admitted[: context.settings.timeline_max_entries]
    await _write_reposts(context, bulk, [owner_id], newest)
    # A block is a barrier (`projector/lanes.py`): no delete runs meanwhile, nothing to check.
    await bulk.flush()
    schedule_trim(context, owner_id)


def _newest_first_key(repost: dict[str, Any]) -> tuple[datetime, str, str]:
    return repost["created_at"], repost["post_id"], repost["user_id"]


async def _write_reposts(
    context: ProjectionContext, bulk: Bulk, owners: list[str], reposts: list[dict[str, Any]]
) -> set[str]:
    """Add entries for `reposts` to each owner's timeline, but not of an owner's own posts or of
    authors blocked either way (one query per chunk of owners), trimming on the deliveries
    `trim_due` picks. Returns the posts written."""
    authors = {repost["post_author_id"] for repost in reposts}
    written: set[str] = set()
    size = max(1, context.settings.fanout_chunk // max(1, len(authors)))
    for start in range(0, len(owners), size):
        chunk = owners[start : start + size]
        blocked = await blocked_pairs(context.collection(BLOCK_EDGES), chunk, authors)
        for owner_id in chunk:
            for repost in reposts:
                author_id = repost["post_author_id"]
                if author_id == owner_id or (owner_id, author_id) in blocked:
                    continue
                entry = entry_upsert(
                    owner_id,
                    repost["post_id"],
                    author_id,
                    repost["created_at"],
                    None,
                    repost["user_id"],
                )
                await bulk.add(entry, entry=True)
                written.add(repost["post_id"])
                key = occurrence_id(repost["post_id"], repost["user_id"])
                if trim_due(owner_id, key, context.settings.timeline_max_entries):
                    schedule_trim(context, owner_id)
    return written


# ---- blocks ------------------------------------------------------------------------------------


async def apply_block(context: ProjectionContext, change: Change) -> None:
    """A block takes each one's posts out of the other's timeline (reposts included: the follows
    between them end with it, and their entries with the follows); an unblock brings back those
    that reposts still put there, unless the other still blocks."""
    blocker_id, blocked_id = block_of(change)
    if block_exists(change):
        await context.collection(TIMELINE_ENTRIES).bulk_write(
            [
                DeleteMany({"owner_id": blocker_id, "author_id": blocked_id}),
                DeleteMany({"owner_id": blocked_id, "author_id": blocker_id}),
            ]
        )
        return
    if await blocked_pairs(context.collection(BLOCK_EDGES), [blocker_id], [blocked_id]):
        return  # blocked the other way still (BlocksProjection has applied this change)
    await restore_after_unblock(context, blocker_id, blocked_id)
    await restore_after_unblock(context, blocked_id, blocker_id)
