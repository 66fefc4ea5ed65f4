"""The consistency model as an executable specification: the read models a write model implies.

The projector must arrive at exactly these documents however it got there (incremental, replayed
from any checkpoint, rebuilt, crashed and resumed). This module computes them from the write
model's current state alone, in plain Python, independently of the projector's code; the README's
"What a timeline contains" is its prose form.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from service_kit.mongo import Database
from service_kit.settings import Settings
from service_kit.text import fold, hashtags_of, search_terms_of
from service_kit.write_model import (
    BLOCKS,
    FOLLOWS,
    LIKES,
    NOTIFICATION_MARKS,
    POSTS,
    REPOSTS,
    USERS,
)

Documents = dict[str, list[dict[str, Any]]]
SortKey = tuple[datetime, str]  # (created_at, post id): newest first means the largest first

DEFAULT_FANOUT_MAX_FOLLOWERS: int = Settings.model_fields["fanout_max_followers"].default
DEFAULT_TIMELINE_MAX_ENTRIES: int = Settings.model_fields["timeline_max_entries"].default
# A timeline's head (the large accounts it merges, whether its owner is large) sorts first.
HEAD_AT = datetime(9999, 12, 31, tzinfo=UTC)


async def expected_read_models(
    database: Database,
    backfill_limit: int,
    *,
    fanout_max_followers: int = DEFAULT_FANOUT_MAX_FOLLOWERS,
    timeline_max_entries: int = DEFAULT_TIMELINE_MAX_ENTRIES,
) -> Documents:
    """What a rebuild arrives at (timelines capped exactly); `expected_timelines` says what an
    incremental projector is held to."""
    users = await database[USERS].find().to_list(None)
    posts = [p for p in await database[POSTS].find().to_list(None) if p["deleted_at"] is None]
    follows = await database[FOLLOWS].find().to_list(None)
    names = {u["_id"]: u for u in users}
    live = {post["_id"]: post for post in posts}
    blocks = await database[BLOCKS].find().to_list(None)
    # Likes and reposts count and show only while their post is live.
    reactions = [
        (kind, reaction)
        for kind, collection in (("like", LIKES), ("repost", REPOSTS))
        for reaction in await database[collection].find().to_list(None)
        if reaction["post_id"] in live
    ]

    post_views = [
        {
            "_id": str(post["_id"]),
            "author_id": str(post["author_id"]),
            "author": {
                "id": str(post["author_id"]),
                "handle": names[post["author_id"]]["handle"],
                "display_name": names[post["author_id"]]["display_name"],
            },
            "author_seq": post["author_seq"],
            "text": post["text"],
            "created_at": post["created_at"],
            "reply_to": str(post["reply_to"]) if post["reply_to"] else None,
            "reply_to_author_id": replied_to_other(post),
            "like_count": sum(
                1 for k, r in reactions if k == "like" and r["post_id"] == post["_id"]
            ),
            "repost_count": sum(
                1 for k, r in reactions if k == "repost" and r["post_id"] == post["_id"]
            ),
            "reply_count": sum(1 for reply in posts if reply["reply_to"] == post["_id"]),
            # Search finds a post by its words, #hashtags and @mentions; explore shows posts
            # and replies to oneself, not replies to others.
            "terms": search_terms_of(post["text"]),
            "in_explore": post["reply_to"] is None
            or post.get("reply_to_author_id") == post["author_id"],
        }
        for post in posts
    ]
    # Live posts per hashtag of their text and hour of writing (UTC, whole hours).
    uses = Counter(
        (
            tag,
            post["created_at"]
            - timedelta(
                minutes=post["created_at"].minute,
                seconds=post["created_at"].second,
                microseconds=post["created_at"].microsecond,
            ),
        )
        for post in posts
        for tag in hashtags_of(post["text"])
    )
    hashtag_hours = [
        {"_id": f"{tag}:{hour:%Y-%m-%dT%H}", "tag": tag, "hour": hour, "count": count}
        for (tag, hour), count in uses.items()
    ]
    # Each user is found by the start of their handle and of their display name, case-folded.
    user_search_keys = [
        {
            "_id": f"{user['_id']}:{kind}",
            "user_id": str(user["_id"]),
            "kind": kind,
            "key": fold(user["handle"] if kind == "handle" else user["display_name"]),
            "handle_key": fold(user["handle"]),
        }
        for user in users
        for kind in ("handle", "name")
    ]
    user_views = [
        {
            "_id": str(user["_id"]),
            "handle": user["handle"],
            "handle_lower": user["handle_lower"],
            "display_name": user["display_name"],
            "bio": user["bio"],
            "created_at": user["created_at"],
            "followers_count": sum(1 for f in follows if f["followee_id"] == user["_id"]),
            "following_count": sum(1 for f in follows if f["follower_id"] == user["_id"]),
            "posts_count": sum(1 for p in posts if p["author_id"] == user["_id"]),
        }
        for user in users
    ]
    follow_edges = [
        {
            "_id": f"{follow['follower_id']}:{follow['followee_id']}",
            "follower_id": str(follow["follower_id"]),
            "followee_id": str(follow["followee_id"]),
            "followee_post_seq": follow["followee_post_seq"],
            "created_at": follow["created_at"],
        }
        for follow in follows
    ]
    spec = timeline_spec(
        users,
        posts,
        follows,
        backfill_limit,
        fanout_max_followers,
        timeline_max_entries,
        reposts=await database[REPOSTS].find().to_list(None),
        blocks=blocks,
    )
    timeline_entries = spec.heads + [
        entry for owner in spec.uncapped for entry in spec.capped(owner)
    ]
    block_edges = [
        {
            "_id": f"{block['blocker_id']}:{block['blocked_id']}",
            "blocker_id": str(block["blocker_id"]),
            "blocked_id": str(block["blocked_id"]),
            "created_at": block["created_at"],
        }
        for block in blocks
    ]
    post_reactions = [
        {
            "_id": f"{kind}:{reaction['user_id']}:{reaction['post_id']}",
            "kind": kind,
            "user_id": str(reaction["user_id"]),
            "post_id": str(reaction["post_id"]),
            "post_author_id": str(reaction["post_author_id"]),
            "created_at": reaction["created_at"],
            **({"reposter_seq": reaction["reposter_seq"]} if kind == "repost" else {}),
        }
        for kind, reaction in reactions
    ]
    marks = [
        {
            "_id": str(mark["_id"]),
            "user_id": str(mark["_id"]),
            "read_up_to_time": mark["read_up_to_time"],
            "read_up_to_id": mark["read_up_to_id"],
        }
        for mark in await database[NOTIFICATION_MARKS].find().to_list(None)
    ]
    documents = {
        "user_views": user_views,
        "block_edges": block_edges,
        "follow_edges": follow_edges,
        "post_views": post_views,
        "timeline_entries": timeline_entries,
        "post_reactions": post_reactions,
        "notifications": notifications(posts, follows, reactions, blocks),
        "notification_read_marks": marks,
        "hashtag_hours": hashtag_hours,
        "user_search_keys": user_search_keys,
    }
    return {name: sorted(docs, key=lambda doc: doc["_id"]) for name, docs in documents.items()}


def notifications(
    posts: list[dict[str, Any]],
    follows: list[dict[str, Any]],
    reactions: list[tuple[str, dict[str, Any]]],
    blocks: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """What happened to whom, from live posts, follows and reactions to live posts: never to
    yourself; a reply does not also count as a mention of the author it answers; kept but
    flagged `blocked` while the recipient blocks the actor."""
    # (key, recipient, actor, kind, post, created_at)
    found: list[tuple[str, Any, Any, str, Any, Any]] = []
    for kind, reaction in reactions:
        if reaction["user_id"] != reaction["post_author_id"]:
            key = f"{kind}:{reaction['user_id']}:{reaction['post_id']}"
            found.append(
                (
                    key,
                    reaction["post_author_id"],
                    reaction["user_id"],
                    kind,
                    reaction["post_id"],
                    reaction["created_at"],
                )
            )
    for post in posts:
        author, answered = post["author_id"], post.get("reply_to_author_id")
        if answered is not None and answered != author:
            found.append(
                (f"reply:{post['_id']}", answered, author, "reply", post["_id"], post["created_at"])
            )
        for mentioned in post.get("mention_ids") or []:
            if mentioned not in (author, answered):
                key = f"mention:{post['_id']}:{mentioned}"
                found.append((key, mentioned, author, "mention", post["_id"], post["created_at"]))
    for follow in follows:
        follower, followee = follow["follower_id"], follow["followee_id"]
        key = f"follow:{follower}:{followee}"
        found.append((key, followee, follower, "follow", None, follow["created_at"]))
    blocking = {(block["blocker_id"], block["blocked_id"]) for block in blocks}
    return [
        {
            "_id": key,
            "recipient_id": str(recipient),
            "actor_id": str(actor),
            "kind": kind,
            "post_id": str(post_id) if post_id is not None else None,
            "created_at": created_at,
            "blocked": (recipient, actor) in blocking,
        }
        for key, recipient, actor, kind, post_id, created_at in found
    ]


# ---- home timelines -----------------------------------------------------------------------------
#
# The rule, for a threshold T (FANOUT_MAX_FOLLOWERS) and a cap C (TIMELINE_MAX_ENTRIES):
# - an account is *large* when it has at least T followers;
# - X's window for u: X's live posts and reposts numbered at least start - backfill_limit + 1
#   (u's follow); posts and reposts share X's sequence of numbers;
# - the Mastodon reply rule: a reply to someone else (Y) is only for those who follow Y or are Y;
# - S(u), the uncapped entries of u's timeline: u's live posts, and for every account X that u
#   follows, X's replies to others in the window that the reply rule admits for u, and, when X is
#   not large, the rest of X's window's posts; and a repost entry (dated by the repost) for every
#   live repost of a live post by u, or by a followee X that is not large within X's window,
#   unless the post is u's own or u and its author block each other (either way);
# - M(u), the merged occurrences: the rest of the window's posts (all but replies to others), and
#   the window's reposts (by the rule above), of every large account u follows;
# - u's head: the large accounts u follows with the first number each follow shows, and whether u
#   is large; it exists when either says something;
# - the visible timeline: the newest C of u's entries and M(u), newest first by (time, occurrence
#   id: `post` or `post:reposter`), each post once, at its newest occurrence.
#
# After a rebuild the entries are exactly the newest C of S(u). Followed incrementally they depend
# on history (a trimmed entry does not come back when a newer one is deleted or unfollowed), and
# what holds is:
# (a) every entry is in S(u), with the same fields;
# (b) every entry of S(u) is there if fewer than C events of U(u) are newer, where U(u) is every
#     post and every repost, live or deleted, by u or by an account u ever followed (a trim removes
#     only entries with C newer ones, a backfill copies only the newest C of a kind, and every
#     entry ever written for u is dated by an event of U(u));
# (c) the head is exact, and the visible timeline is the one above for the actual entries.


@dataclass
class TimelineSpec:
    max_entries: int
    uncapped: dict[str, list[dict[str, Any]]]  # S(u): entry documents, newest first
    merged: dict[str, list[tuple[SortKey, str]]]  # M(u): (occurrence key, post id)
    heads: list[dict[str, Any]]
    # Every event's key by its account: posts (live or deleted) and reposts (live or taken back)
    events: dict[str, list[SortKey]] = field(default_factory=dict)
    large: set[str] = field(default_factory=set)

    def capped(self, owner: str) -> list[dict[str, Any]]:
        return self.uncapped[owner][: self.max_entries]

    def visible(self, owner: str, entries: list[dict[str, Any]] | None = None) -> list[str]:
        """The visible timeline (post ids, newest first) given the owner's entries (by default
        the exact capped ones)."""
        if entries is None:
            entries = self.capped(owner)
        newest = sorted(entries, key=entry_key, reverse=True)[: self.max_entries]
        occurrences = [(entry_key(entry), entry["post_id"]) for entry in newest]
        occurrences += self.merged[owner]
        shown: list[str] = []
        for _, post_id in sorted(occurrences, reverse=True):
            if post_id not in shown:
                shown.append(post_id)
        return shown

    def guaranteed(self, owner: str, ever_followed: set[tuple[str, str]]) -> set[str]:
        """(b): the entries (ids) of S(owner) that fewer than C events of U(owner) are newer
        than."""
        sources = {owner} | {followee for follower, followee in ever_followed if follower == owner}
        universe = sorted(
            (key for account in sources for key in self.events.get(account, [])), reverse=True
        )
        # The C-th newest of U(owner): an entry at least as new is guaranteed.
        floor = universe[self.max_entries - 1] if len(universe) >= self.max_entries else None
        return {
            entry["_id"]
            for entry in self.uncapped[owner]
            if floor is None or entry_key(entry) >= floor
        }

    def entry_problems(
        self, owner: str, entries: list[dict[str, Any]], ever_followed: set[tuple[str, str]]
    ) -> list[str]:
        """What breaks (a) and (b) for one owner's actual entries."""
        wanted = {entry["_id"]: entry for entry in self.uncapped[owner]}
        problems = [
            f"{owner}: entry {entry['_id']} is not {wanted.get(entry['_id'])}"
            for entry in entries
            if wanted.get(entry["_id"]) != entry
        ]
        present = {entry["_id"] for entry in entries}
        missing = self.guaranteed(owner, ever_followed) - present
        problems += [f"{owner}: {entry_id} is missing" for entry_id in sorted(missing)]
        return problems


def entry_key(entry: dict[str, Any]) -> SortKey:
    """An entry's place: its time, and its occurrence id (`post` or `post:reposter`)."""
    return entry["created_at"], entry["_id"].partition(":")[2]


def repost_key(repost: dict[str, Any]) -> SortKey:
    return repost["created_at"], f"{repost['post_id']}:{repost['user_id']}"


def timeline_spec(
    users: list[dict[str, Any]],
    posts: list[dict[str, Any]],
    follows: list[dict[str, Any]],
    backfill_limit: int,
    fanout_max_followers: int,
    timeline_max_entries: int,
    deleted: list[dict[str, Any]] | None = None,
    reposts: list[dict[str, Any]] | None = None,
    blocks: list[dict[str, Any]] | None = None,
    taken_back: list[dict[str, Any]] | None = None,
) -> TimelineSpec:
    """`posts` are the live ones and `reposts` those that exist; `deleted` the tombstones and
    `taken_back` reposts undone (both only widen U(u))."""
    every = [*posts, *(deleted or [])]
    spec = TimelineSpec(
        max_entries=timeline_max_entries, uncapped={}, merged={}, heads=[], events={}
    )
    for post in every:
        spec.events.setdefault(str(post["author_id"]), []).append(
            (post["created_at"], str(post["_id"]))
        )
    # Reposts are normalized to strings: `user_id`, `post_id`, `created_at`, `reposter_seq`.
    all_reposts = [_repost(r) for r in reposts or []]
    for repost in all_reposts + [_repost(r) for r in taken_back or []]:
        spec.events.setdefault(repost["user_id"], []).append(repost_key(repost))
    followers = {user["_id"]: 0 for user in users}
    for follow in follows:
        followers[follow["followee_id"]] = followers.get(follow["followee_id"], 0) + 1
    spec.large = {str(user) for user, n in followers.items() if n >= fanout_max_followers}
    live = {str(post["_id"]): post for post in posts}
    blocked = {
        pair
        for block in blocks or []
        for pair in (
            (str(block["blocker_id"]), str(block["blocked_id"])),
            (str(block["blocked_id"]), str(block["blocker_id"])),
        )
    }

    def entry(owner: Any, post: dict[str, Any]) -> dict[str, Any]:
        return {
            "_id": f"{owner}:{post['_id']}",
            "owner_id": str(owner),
            "post_id": str(post["_id"]),
            "author_id": str(post["author_id"]),
            "created_at": post["created_at"],
            "replied_to": replied_to_other(post),
            "reposted_by": None,
        }

    def repost_entry(owner: str, repost: dict[str, Any]) -> dict[str, Any]:
        post = live[repost["post_id"]]
        return {
            "_id": f"{owner}:{repost['post_id']}:{repost['user_id']}",
            "owner_id": owner,
            "post_id": repost["post_id"],
            "author_id": str(post["author_id"]),
            "created_at": repost["created_at"],
            "replied_to": None,
            "reposted_by": repost["user_id"],
        }

    def reposts_shown(owner: str, reposter: str, first: int | None) -> list[dict[str, Any]]:
        """The reposter's reposts that may reach the owner (`first` None: all of them)."""
        return [
            repost
            for repost in all_reposts
            if repost["user_id"] == reposter
            and repost["post_id"] in live
            and (first is None or repost["reposter_seq"] >= first)
            and str(live[repost["post_id"]]["author_id"]) != owner
            and (owner, str(live[repost["post_id"]]["author_id"])) not in blocked
        ]

    following = {(str(f["follower_id"]), str(f["followee_id"])) for f in follows}

    for user in users:
        owner = user["_id"]
        shown = [entry(owner, p) for p in posts if p["author_id"] == owner]
        shown += [repost_entry(str(owner), r) for r in reposts_shown(str(owner), str(owner), None)]
        merged: list[tuple[SortKey, str]] = []
        sources: dict[str, int] = {}
        for follow in follows:
            if follow["follower_id"] != owner:
                continue
            followee, first = (
                follow["followee_id"],
                follow["followee_post_seq"] - backfill_limit + 1,
            )
            window = [p for p in posts if p["author_id"] == followee and p["author_seq"] >= first]
            replies = [p for p in window if replied_to_other(p) is not None]
            rest = [p for p in window if replied_to_other(p) is None]
            shown += [
                entry(owner, p)
                for p in replies
                if replied_to_other(p) == str(owner)
                or (str(owner), replied_to_other(p)) in following
            ]
            its_reposts = reposts_shown(str(owner), str(followee), first)
            if str(followee) in spec.large:
                sources[str(followee)] = first
                merged += [((p["created_at"], str(p["_id"])), str(p["_id"])) for p in rest]
                merged += [(repost_key(r), r["post_id"]) for r in its_reposts]
            else:
                shown += [entry(owner, p) for p in rest]
                shown += [repost_entry(str(owner), r) for r in its_reposts]
        spec.uncapped[str(owner)] = sorted(shown, key=entry_key, reverse=True)
        spec.merged[str(owner)] = merged
        if sources or str(owner) in spec.large:
            spec.heads.append(
                {
                    "_id": f"{owner}:head",
                    "owner_id": str(owner),
                    "created_at": HEAD_AT,
                    "sources": sources,
                    "large": str(owner) in spec.large,
                }
            )
    return spec


def _repost(repost: dict[str, Any]) -> dict[str, Any]:
    return {
        "user_id": str(repost["user_id"]),
        "post_id": str(repost["post_id"]),
        "created_at": repost["created_at"],
        "reposter_seq": int(repost.get("reposter_seq", 0)),
    }


def replied_to_other(post: dict[str, Any]) -> str | None:
    """Whom a post replies to, unless it is a top-level post or a reply to its own author."""
    replied = post.get("reply_to_author_id")
    return None if replied is None or replied == post["author_id"] else str(replied)


async def expected_timelines(
    database: Database,
    backfill_limit: int,
    fanout_max_followers: int,
    timeline_max_entries: int,
    taken_back: list[dict[str, Any]] | None = None,
) -> TimelineSpec:
    """The timelines' specification from the write model; `taken_back` are the reposts undone
    so far (the write model forgets them, but a capped timeline may have held them)."""
    users = await database[USERS].find().to_list(None)
    every = await database[POSTS].find().to_list(None)
    follows = await database[FOLLOWS].find().to_list(None)
    return timeline_spec(
        users,
        [p for p in every if p["deleted_at"] is None],
        follows,
        backfill_limit,
        fanout_max_followers,
        timeline_max_entries,
        deleted=[p for p in every if p["deleted_at"] is not None],
        reposts=await database[REPOSTS].find().to_list(None),
        blocks=await database[BLOCKS].find().to_list(None),
        taken_back=taken_back,
    )
