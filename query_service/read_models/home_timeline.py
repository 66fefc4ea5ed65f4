"""The read side of home timelines: a page shows each post once, at its newest occurrence.

A timeline's *occurrences* are its newest C entries (`timeline_entries.py`: a post by the owner or
by a followee, or a repost by the owner or by a followee) and, for each large account the owner
follows (the head's `sources`), that account's posts and reposts within the follow's window,
merged when the page is read. A post may occur several times: its own entry, and the reposts of
several followees. A page shows it once, at its newest occurrence, with `reposted_by` when that
occurrence is a repost. Occurrences sort newest first by (time, occurrence id), where the id is
`post` or `post:reposter` (`timeline_entries.occurrence_id`), and a cursor is an occurrence's
position.

Each source of occurrences (entries, merged posts, merged reposts) is read up to `limit + 1`
after the cursor; a source that had more stops the page at its last one read (the *boundary*), so
the page holds every occurrence newer than the newest boundary, and none is skipped. Showing a
post only at its newest occurrence needs, on a later page, to know the occurrences before the
cursor; only a post with reposts can have several, so only those are looked up, in one query per
kind. See `home_timeline` for the round trips.
"""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from query_service.read_models import pagination
from query_service.read_models.blocks import blocked_pairs
from query_service.read_models.counters import WITHOUT_MARKS
from query_service.read_models.names import (
    BLOCK_EDGES,
    POST_REACTIONS,
    POST_VIEWS,
    TIMELINE_ENTRIES,
)
from query_service.read_models.pagination import Page, Position
from query_service.read_models.posts import NEWEST_FIRST, AuthorSummary, PostView
from query_service.read_models.timeline_entries import (
    TIMELINE_NEWEST_FIRST,
    head_id,
    occurrence_id,
    timeline_entry_id,
)
from query_service.read_models.timeline_reposts import REPOST_NEWEST_FIRST
from query_service.read_models.users import summaries_by_id
from service_kit.mongo import Database

Sources = dict[str, int]  # the large accounts followed, each with the first number shown


class TimelineItem(PostView):
    reposted_by: AuthorSummary | None  # who reposted it into this timeline, if that brought it
    reposted_at: datetime | None


@dataclass(frozen=True)
class Occurrence:
    created_at: datetime
    id: str  # `post` or `post:reposter`
    post_id: str
    reposted_by: str | None

    @property
    def position(self) -> Position:
        return Position(self.created_at, self.id)

    @property
    def key(self) -> tuple[datetime, str]:
        return self.created_at, self.id


def _entry_occurrence(entry: dict[str, Any]) -> Occurrence:
    reposted_by = entry.get("reposted_by")
    return Occurrence(
        entry["created_at"],
        occurrence_id(entry["post_id"], reposted_by),
        entry["post_id"],
        reposted_by,
    )


def _repost_occurrence(repost: dict[str, Any]) -> Occurrence:
    return Occurrence(
        repost["created_at"],
        occurrence_id(repost["post_id"], repost["user_id"]),
        repost["post_id"],
        repost["user_id"],
    )


def _post_occurrence(view: dict[str, Any]) -> Occurrence:
    return Occurrence(view["created_at"], view["_id"], view["_id"], None)


async def home_timeline(
    database: Database, owner_id: str, limit: int, position: Position | None, max_entries: int
) -> Page[TimelineItem]:
    """One page of the owner's timeline, newest first, each post once.

    Round trips: the entries (with the head, which sorts first; a later page of a timeline that
    merges reads it in the same query) and the posts they show: 2; one more to name the
    reposters when the page shows reposts, and on a later page one more when a post on it has
    reposts (its newer occurrences). Following large accounts adds their reposts, the authors
    blocked either way when any are merged, and on a later page their newer reposts: one each."""
    shown = position.shown if position else 0
    wanted = min(limit + 1, max_entries - shown)  # entries this page may use; the cap applies
    entries, sources = await _entries_and_head(database, owner_id, position, wanted)
    boundaries: list[Occurrence] = []
    if len(entries) == limit + 1:
        boundaries.append(entries[-1])  # more entries could follow: nothing older is in order
    reposts = await _merged_reposts(database, owner_id, sources, position, limit, boundaries)
    needed = {occurrence.post_id for occurrence in entries + reposts}
    views, merged = await _views_and_merged_posts(
        database, needed, sources, position, limit, boundaries
    )
    cutoff = max((b.key for b in boundaries), default=None)
    candidates = [
        occurrence
        for occurrence in sorted(entries + reposts + merged, key=lambda o: o.key, reverse=True)
        if occurrence.post_id in views and (cutoff is None or occurrence.key >= cutoff)
    ]
    candidates = _newest_of_each_post(candidates)
    if position is not None:
        earlier = await _shown_before(database, owner_id, sources, position, candidates, views)
        candidates = [o for o in candidates if o.post_id not in earlier]
    items = candidates[:limit]
    next_position: Position | None = None
    if len(candidates) > limit:
        next_position = items[-1].position
    elif cutoff is not None:
        next_position = Position(*cutoff)
    page_items = await _with_reposters(database, items, views)
    if next_position is None:
        return Page(page_items, None)
    used = sum(1 for entry in entries if entry.key >= (next_position.created_at, next_position.id))
    return Page(
        page_items,
        Position(
            next_position.created_at,
            next_position.id,
            shown=shown + used,
            merging=bool(sources),
        ),
    )


async def _entries_and_head(
    database: Database, owner_id: str, position: Position | None, wanted: int
) -> tuple[list[Occurrence], Sources]:
    """Up to `wanted` entries after `position`, newest first, and the head's sources. The head
    sorts before every entry: the first page reads it with them, and so does a later page of a
    timeline that merges (the cursor says so), with an `$or`."""
    entries_at = database[TIMELINE_ENTRIES]
    head = head_id(owner_id)
    query: dict[str, Any] = {"owner_id": owner_id}
    with_head = position is None or position.merging
    if position is not None:
        after = _entries_after(owner_id, position)
        query = {"$or": [{"_id": head}, after]} if with_head else after
    if wanted <= 0 and not with_head:
        return [], {}
    found = (
        await entries_at.find(query)
        .sort(TIMELINE_NEWEST_FIRST)
        .limit(max(wanted, 0) + (1 if with_head else 0))
        .to_list(None)
    )
    sources: Sources = {}
    if found and found[0]["_id"] == head:
        sources = dict(found.pop(0).get("sources", {}))
    return [_entry_occurrence(entry) for entry in found[: max(wanted, 0)]], sources


def _entries_after(owner_id: str, position: Position) -> dict[str, Any]:
    return {
        "owner_id": owner_id,
        **pagination.after(
            Position(position.created_at, timeline_entry_id(owner_id, position.id)), "_id"
        ),
    }


def _reposts_after(position: Position) -> dict[str, Any]:
    """The filter for reposts strictly older than `position` in occurrence order."""
    post_id, _, reposter_id = position.id.partition(":")
    branches: list[dict[str, Any]] = [
        {"created_at": {"$lt": position.created_at}},
        {"created_at": position.created_at, "post_id": {"$lt": post_id}},
    ]
    if reposter_id:
        branches.append(
            {"created_at": position.created_at, "post_id": post_id, "user_id": {"$lt": reposter_id}}
        )
    return {"created_at": {"$lte": position.created_at}, "$or": branches}


async def _merged_reposts(
    database: Database,
    owner_id: str,
    sources: Sources,
    position: Position | None,
    limit: int,
    boundaries: list[Occurrence],
) -> list[Occurrence]:
    """The large accounts' reposts within their windows after `position`: up to `limit + 1`,
    newest first, then without the owner's own posts and authors blocked either way."""
    if not sources:
        return []
    after = _reposts_after(position) if position is not None else {}
    # One branch per account, each bounded by its index (user, kind, time, post).
    windows = [
        {"user_id": account_id, "kind": "repost", "reposter_seq": {"$gte": first}, **after}
        for account_id, first in sorted(sources.items())
    ]
    query: dict[str, Any] = windows[0] if len(windows) == 1 else {"$or": windows}
    found = (
        await database[POST_REACTIONS]
        .find(query, {"post_id": 1, "user_id": 1, "post_author_id": 1, "created_at": 1})
        .sort(REPOST_NEWEST_FIRST)
        .limit(limit + 1)
        .to_list(None)
    )
    occurrences = [_repost_occurrence(repost) for repost in found]
    if len(found) == limit + 1:
        boundaries.append(occurrences[-1])
    authors = {repost["post_author_id"] for repost in found} - {owner_id}
    pairs = await blocked_pairs(database[BLOCK_EDGES], [owner_id], authors)
    blocked = {author_id for _, author_id in pairs}
    return [
        occurrence
        for occurrence, repost in zip(occurrences, found, strict=True)
        if repost["post_author_id"] != owner_id and repost["post_author_id"] not in blocked
    ]


def _post_windows(sources: Sources) -> list[dict[str, Any]]:
    # A large account's replies to others are fanned out (the Mastodon rule), not merged.
    return [
        {
            "author_id": account_id,
            "author_seq": {"$gte": first},
            "reply_to_author_id": {"$in": [None, account_id]},
        }
        for account_id, first in sorted(sources.items())
    ]


def _merges(view: Mapping[str, Any], sources: Sources) -> bool:
    """Whether a large account's window merges this post (the `_post_windows` rule)."""
    first = sources.get(view["author_id"])
    return (
        first is not None
        and view.get("author_seq", 0) >= first
        and view.get("reply_to_author_id") in (None, view["author_id"])
    )


async def _views_and_merged_posts(
    database: Database,
    needed: set[str],
    sources: Sources,
    position: Position | None,
    limit: int,
    boundaries: list[Occurrence],
) -> tuple[dict[str, PostView], list[Occurrence]]:
    """The views of the `needed` posts, and the large accounts' posts within their windows
    after `position` (up to `limit + 1`, newest first), in one query.

    Why one sorted query with a limit of `limit + 1 + len(needed)` holds the first `limit + 1`
    merged posts: at most `len(needed)` documents that are not merged posts precede any of
    them. A needed view crowded out by newer merged posts is read by a second query."""
    posts = database[POST_VIEWS]
    if not sources:
        if not needed:
            return {}, []
        found = await posts.find({"_id": {"$in": sorted(needed)}}, WITHOUT_MARKS).to_list(None)
        return {view["_id"]: cast(PostView, view) for view in found}, []
    windows = _post_windows(sources)
    if position is not None:
        after = pagination.after(position, "_id")
        windows = [{**window, **after} for window in windows]
    branches = [*windows, {"_id": {"$in": sorted(needed)}}] if needed else windows
    found = (
        await posts.find({"$or": branches}, WITHOUT_MARKS)
        .sort(NEWEST_FIRST)
        .limit(limit + 1 + len(needed))
        .to_list(None)
    )
    views = {view["_id"]: cast(PostView, view) for view in found}
    merged = [
        _post_occurrence(view)
        for view in found
        if _merges(view, sources) and (position is None or _older(view, position))
    ][: limit + 1]
    if len(merged) == limit + 1:
        boundaries.append(merged[-1])
    missing = sorted(needed - views.keys())
    if missing:
        more = await posts.find({"_id": {"$in": missing}}, WITHOUT_MARKS).to_list(None)
        views |= {view["_id"]: cast(PostView, view) for view in more}
    return views, merged


def _older(view: dict[str, Any], position: Position) -> bool:
    return (view["created_at"], view["_id"]) < (position.created_at, position.id)


def _newest_of_each_post(occurrences: list[Occurrence]) -> list[Occurrence]:
    """Occurrences newest first, each post kept at its first (newest) one."""
    seen: set[str] = set()
    kept = []
    for occurrence in occurrences:
        if occurrence.post_id not in seen:
            seen.add(occurrence.post_id)
            kept.append(occurrence)
    return kept


async def _shown_before(
    database: Database,
    owner_id: str,
    sources: Sources,
    position: Position,
    candidates: list[Occurrence],
    views: dict[str, PostView],
) -> set[str]:
    """Which candidates' posts occur at or before `position` too (an earlier page showed them).
    Only a post with reposts can occur twice; for those, one query for newer entries and, with
    large accounts followed, one for their newer reposts; their merged posts are known here."""
    reposted = sorted(
        {o.post_id for o in candidates if o.reposted_by or views[o.post_id]["repost_count"] > 0}
    )
    if not reposted:
        return set()
    # A large account's repost of the owner's own post does not occur (the post is an entry).
    not_own = {post_id for post_id in reposted if views[post_id]["author_id"] != owner_id}
    not_older: dict[str, Any] = {
        "created_at": {"$gte": position.created_at},
        "$or": [
            {"created_at": {"$gt": position.created_at}},
            {
                "created_at": position.created_at,
                "_id": {"$gte": timeline_entry_id(owner_id, position.id)},
            },
        ],
    }
    lookups = [
        database[TIMELINE_ENTRIES]
        .find({"owner_id": owner_id, "post_id": {"$in": reposted}, **not_older}, {"post_id": 1})
        .to_list(None)
    ]
    if sources:
        lookups.append(
            database[POST_REACTIONS]
            .find(
                {
                    "kind": "repost",
                    "post_id": {"$in": reposted},
                    "user_id": {"$in": sorted(sources)},
                    "created_at": {"$gte": position.created_at},
                },
                {"post_id": 1, "user_id": 1, "created_at": 1, "reposter_seq": 1},
            )
            .to_list(None)
        )
    found = await asyncio.gather(*lookups)
    earlier = {entry["post_id"] for entry in found[0]}
    if sources:
        earlier |= {
            repost["post_id"]
            for repost in found[1]
            if repost["post_id"] in not_own
            and repost.get("reposter_seq", 0) >= sources[repost["user_id"]]
            and _repost_occurrence(repost).key >= (position.created_at, position.id)
        }
    earlier |= {
        post_id
        for post_id in reposted
        if _merges(views[post_id], sources)
        and (views[post_id]["created_at"], post_id) >= (position.created_at, position.id)
    }
    return earlier


async def _with_reposters(
    database: Database, items: list[Occurrence], views: dict[str, PostView]
) -> list[TimelineItem]:
    """The page's posts, each with who reposted it here (named in one query, when any)."""
    names = await summaries_by_id(database, [o.reposted_by for o in items if o.reposted_by])
    return [
        cast(
            TimelineItem,
            {
                **views[o.post_id],
                "reposted_by": _reposter(o.reposted_by, names) if o.reposted_by else None,
                "reposted_at": o.created_at if o.reposted_by else None,
            },
        )
        for o in items
    ]


def _reposter(reposter_id: str, names: dict[str, dict[str, str]]) -> AuthorSummary:
    # A reposter whose account is gone keeps an empty name, like a post view's author.
    found = names.get(reposter_id, {"id": reposter_id, "handle": "", "display_name": ""})
    return cast(AuthorSummary, found)
