"""timeline_entries: the documents of home timelines and the writes every timeline rule shares.

The collection holds two kinds of documents, both keyed so that every write can safely run again:

- an *entry* puts one post into one owner's timeline for one reason: `{owner}:{post}` for the post
  itself (its author is the owner or someone the owner follows, `timelines.py`), and
  `{owner}:{post}:{reposter}` for each repost that brings it (`timeline_reposts.py`). A post may
  have several entries in one timeline; a page shows it once, at its newest (`home_timeline.py`).
  Entries sort by (`created_at`, `_id`): the post's time, or the repost's;
- a *head* per timeline (`{owner}:head`, sorted before every entry so the first page's query
  returns it) lists the large accounts the owner follows (`sources`, each with the first number
  its follow shows) and says whether the owner is `large` itself.

Entries are written in bulk (`Bulk`), and each timeline is trimmed to about its newest C entries
(`trim`); the module docstring of `timelines.py` tells why both are O(1) per delivery.
"""

import zlib
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any, TypedDict

from pymongo import ASCENDING, DESCENDING, DeleteOne, IndexModel, UpdateOne

from query_service.projector.projection import ProjectionContext
from query_service.read_models.names import FOLLOW_EDGES, POST_VIEWS, TIMELINE_ENTRIES
from service_kit.observability import tracing

# Newest first, the entry id breaking ties (the post's id, then the reposter's).
TIMELINE_NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]
# The head document sorts before every entry of its owner, so the first page's query returns it.
HEAD_AT = datetime(9999, 12, 31, tzinfo=UTC)
TRIMS = "timelines:trim"  # the context's set of owners to trim when the batch ends

INDEXES = [
    # (A new name: `owner_newest` broke ties by post id, which several entries of a post share;
    # a server refuses to reuse a name for other keys, and a rebuild drops the old index.)
    IndexModel([("owner_id", ASCENDING), *TIMELINE_NEWEST_FIRST], name="owner_newest_entry"),
    IndexModel([("post_id", ASCENDING)], name="by_post"),
    IndexModel([("owner_id", ASCENDING), ("author_id", ASCENDING)], name="owner_author"),
    IndexModel([("owner_id", ASCENDING), ("replied_to", ASCENDING)], name="owner_replied_to"),
    IndexModel([("owner_id", ASCENDING), ("reposted_by", ASCENDING)], name="owner_reposted_by"),
]


class TimelineEntry(TypedDict):
    _id: str
    owner_id: str
    post_id: str
    author_id: str
    created_at: datetime  # the post's time, or the repost's
    replied_to: str | None  # a reply to someone else: whom (the Mastodon rule)
    reposted_by: str | None  # the repost that brings the post, or None for the post itself


def timeline_entry_id(owner_id: str, post_id: str, reposted_by: str | None = None) -> str:
    return f"{owner_id}:{occurrence_id(post_id, reposted_by)}"


def occurrence_id(post_id: str, reposted_by: str | None) -> str:
    """A post's occurrence in a timeline, without the owner: `post` or `post:reposter`. Ids are
    24 hex digits, so these sort by post first, and a post's own occurrence before its reposts."""
    return post_id if reposted_by is None else f"{post_id}:{reposted_by}"


def head_id(owner_id: str) -> str:
    return f"{owner_id}:head"


def first_number_shown(start: int, backfill_limit: int) -> int:
    """The lowest number (of a post or a repost) a follow that started at `start` shows."""
    return start - backfill_limit + 1


def entry_upsert(
    owner_id: str,
    post_id: str,
    author_id: str,
    created_at: datetime,
    replied_to: str | None,
    reposted_by: str | None = None,
) -> UpdateOne:
    return UpdateOne(
        {"_id": timeline_entry_id(owner_id, post_id, reposted_by)},
        {
            "$set": {
                "owner_id": owner_id,
                "post_id": post_id,
                "author_id": author_id,
                "created_at": created_at,
                "replied_to": replied_to,
                "reposted_by": reposted_by,
            }
        },
        upsert=True,
    )


class Bulk:
    """Writes accumulated in bulk requests of at most `fanout_chunk` operations."""

    def __init__(self, context: ProjectionContext, *, ordered: bool = False) -> None:
        self._context, self._ordered = context, ordered
        self._operations: list[Any] = []
        self._entries = 0

    async def add(self, *operations: Any, entry: bool = False) -> None:
        if len(self._operations) + len(operations) > self._context.settings.fanout_chunk:
            await self.flush()
        self._operations.extend(operations)
        self._entries += len(operations) if entry else 0

    async def flush(self) -> None:
        """The one place timeline entries are written in bulk: one request, counted."""
        if not self._operations:
            return
        collection = self._context.collection(TIMELINE_ENTRIES)
        with tracing.span(
            "timeline bulk write",
            {
                "microblog.timeline_entries": self._entries,
                "db.operation.batch.size": len(self._operations),
            },
        ):
            await collection.bulk_write(self._operations, ordered=self._ordered)
        if self._entries:
            self._context.on_fanout(self._entries)
        self._operations, self._entries = [], 0


# ---- who a new post or repost reaches -----------------------------------------------------------


async def window_audience(
    context: ProjectionContext, account_id: str, number: int, large: bool
) -> AsyncIterator[str]:
    """Whose timelines an account's new post or repost numbered `number` reaches: the account's
    own and, unless it is large (its followers merge it when they read), every follower's whose
    window admits the number (`start - backfill_limit + 1 <= number`)."""
    yield account_id
    if large:
        return
    followers = context.collection(FOLLOW_EDGES).find(
        {
            "followee_id": account_id,
            "followee_post_seq": {"$lt": number + context.settings.backfill_limit},
        },
        {"follower_id": 1},
    )
    async for edge in followers:
        yield edge["follower_id"]


async def newest_per_window(
    documents: AsyncIterator[dict[str, Any]], number: str, firsts: Iterable[int], limit: int
) -> AsyncIterator[tuple[dict[str, Any], list[int]]]:
    """From one scan of an account's posts or reposts, newest first: each document with the
    window starts (`firsts`) that take it, a window taking those numbered (`number`) at or
    above its start until it has `limit`. The scan stops once every window is full, so an
    account crossing down serves all its followers' windows at once."""
    taken = dict.fromkeys(firsts, 0)
    async for document in documents:
        open_windows = [first for first, count in taken.items() if count < limit]
        if not open_windows:
            return
        takers = [first for first in open_windows if int(document.get(number, 0)) >= first]
        for first in takers:
            taken[first] += 1
        if takers:
            yield document, takers


# ---- heads -------------------------------------------------------------------------------------


async def is_large(context: ProjectionContext, account_id: str) -> bool:
    """Whether the account is large as last decided (not fanned out): its head says so."""
    head = await context.collection(TIMELINE_ENTRIES).find_one(
        {"_id": head_id(account_id)}, {"large": 1}
    )
    return bool(head and head.get("large"))


async def large_among(context: ProjectionContext, account_ids: list[str]) -> set[str]:
    """Which of the accounts are large as last decided, in one query."""
    if not account_ids:
        return set()
    heads = context.collection(TIMELINE_ENTRIES).find(
        {"_id": {"$in": [head_id(account_id) for account_id in account_ids]}, "large": True},
        {"owner_id": 1},
    )
    return {str(head["owner_id"]) async for head in heads}


def add_source(owner_id: str, author_id: str, first: int) -> UpdateOne:
    """Put a large account, with the first number its follow shows, into the owner's head."""
    return UpdateOne(
        {"_id": head_id(owner_id)},
        {
            "$set": {"owner_id": owner_id, "created_at": HEAD_AT, f"sources.{author_id}": first},
            "$setOnInsert": {"large": False},
        },
        upsert=True,
    )


def drop_source(owner_id: str, author_id: str) -> tuple[UpdateOne, DeleteOne]:
    """Take an account out of the owner's sources (the head goes when nothing is left in it)."""
    return (
        UpdateOne({"_id": head_id(owner_id)}, {"$unset": {f"sources.{author_id}": ""}}),
        drop_idle_head(owner_id),
    )


def head_update(account_id: str, *, large: bool) -> UpdateOne:
    """Record whether the account is large (and so not fanned out)."""
    return UpdateOne(
        {"_id": head_id(account_id)},
        {
            "$set": {"owner_id": account_id, "created_at": HEAD_AT, "large": large},
            "$setOnInsert": {"sources": {}},
        },
        upsert=True,
    )


def drop_idle_head(owner_id: str) -> DeleteOne:
    return DeleteOne({"_id": head_id(owner_id), "sources": {}, "large": False})


# ---- the cap ------------------------------------------------------------------------------------


def trim_due(owner_id: str, key: str, max_entries: int) -> bool:
    """Whether this delivery (of post or account `key`) trims the owner: a deterministic fraction
    1/max(1, C // 2) of deliveries, the same on every replay."""
    every = max(1, max_entries // 2)
    return zlib.crc32(f"{owner_id}:{key}".encode()) % every == 0


def schedule_trim(context: ProjectionContext, owner_id: str) -> None:
    # A rebuild trims every owner once it has caught up (`finish_rebuild`).
    if not context.rebuilding:
        context.stale_ids(TRIMS).add(owner_id)


async def trim(context: ProjectionContext, owner_id: str) -> None:
    """Keep the owner's newest C entries: find the first one beyond them, delete it and older."""
    entries = context.collection(TIMELINE_ENTRIES)
    beyond = (
        await entries.find(
            {"owner_id": owner_id, "created_at": {"$lt": HEAD_AT}}, {"created_at": 1}
        )
        .sort(TIMELINE_NEWEST_FIRST)
        .skip(context.settings.timeline_max_entries)
        .limit(1)
        .to_list(1)
    )
    if not beyond:
        return
    oldest_kept = beyond[0]
    await entries.delete_many(
        {
            "owner_id": owner_id,
            "created_at": {"$lte": oldest_kept["created_at"]},
            "$or": [
                {"created_at": {"$lt": oldest_kept["created_at"]}},
                {"created_at": oldest_kept["created_at"], "_id": {"$lte": oldest_kept["_id"]}},
            ],
        }
    )


async def drop_entries_of_gone_posts(context: ProjectionContext, post_ids: set[str]) -> None:
    """After a backfill wrote entries of `post_ids`: remove those of posts deleted meanwhile.

    A backfill reads what to copy, then writes it; a concurrent delete of one of those posts (in
    another lane) may remove the post's entries in between. A delete removes the post's view
    before its entries, so reading the views after the write finds every such post gone."""
    if not post_ids:
        return
    views = context.collection(POST_VIEWS).find(
        {"_id": {"$in": sorted(post_ids)}}, {"author_id": 1}
    )
    # A rebuild's counter stub (counts met before the view) has no author: it is no view.
    live = {view["_id"] async for view in views if "author_id" in view}
    gone = sorted(post_ids - live)
    if gone:
        await context.collection(TIMELINE_ENTRIES).delete_many({"post_id": {"$in": gone}})
