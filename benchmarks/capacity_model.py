"""Capacity model: MongoDB work per second for microblog at Twitter-like load (issue 7, item 9).

A deterministic simulation (seeded `random`, plain Python) over a generated power-law follow graph.
It counts, per API call type and per change type the projector handles, the MongoDB round trips,
documents read and written, index keys counted by recounts (only in the last design, for
comparison: the user and post counters' and the hashtag buckets' recounts of before O(1)
counters), and estimated oplog bytes, for these designs:

- `full fan-out`: for comparison, the timelines before hybrid fan-out: every post and every
  repost is fanned out to every follower (no timeline heads, no threshold decisions), never
  trimmed.
- `hybrid fan-out`: hybrid fan-out as built (`read_models/timelines.py`,
  `read_models/timeline_reposts.py`, `read_models/home_timeline.py`) without the cap: accounts
  with at least `--threshold` followers are not fanned out, their followers merge their posts
  (in the page's one `post_views` query) and their reposts (one `post_reactions` query) at read
  time; the account's timeline head says which path a post, a repost or a follow takes, and
  every follow change costs the threshold decision (2 reads). Crossings of the threshold are
  rare and not modelled.
- `hybrid fan-out + cap`: the code as it is: timelines are also trimmed to TIMELINE_MAX_ENTRIES
  on 1 in max(1, C // 2) deliveries and after each follow's backfill (one skip query, then one
  delete_many of what is beyond the cap: a full timeline at steady state).
- `..., recounts`: the code with the counters of before O(1) counters (`count_documents`
  recounts at the end of every batch), for comparison.

Every design applies the Mastodon reply rule (a reply to someone else reaches the followers who
also follow the account replied to; read from the smaller of the two follower sets) and has the
O(1) counters (`read_models/counters.py`) unless it says recounts: per changed membership, one
read of it and one guarded update per counter, whose `$push`/`$slice` of the counter marks
rewrites up to MARKS_KEPT marks in the oplog. The social features are in: likes and reposts
(counted memberships of their own, with notifications), reposts in home timelines (a repost
takes a number in its reposter's sequence, shared with their posts, and is fanned out like a
post: an entry `{owner}:{post}:{reposter}` for the reposter and each follower whose window admits
it, unless the reposter is large; a follow backfills the followee's reposts in its window), reply
and follow notifications, the hashtag buckets' counters, the user search keys, and the reader's
likes lookup on every page of posts.

Every per-operation count cites the code path it comes from (file:function), and
tests/test_capacity_model.py checks them against the round trips the code makes on the embedded
store. API calls are counted from the use case (command_service/commands/*.py) for writes and
from the HTTP endpoint for reads; what the HTTP layer adds to a write (the token's user, the rate
limits' counters) is not in the model. Oplog sizes are `bson.encode` of oplog entries built
around the project's real document shapes.

    .venv/bin/python benchmarks/capacity_model.py --users 1000000 --seed 7   # see docs/capacity.md
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import itertools
import json
import math
import random
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

import bson
from bson import Binary, Int64, ObjectId
from bson.timestamp import Timestamp

# ---- parameters --------------------------------------------------------------------------------

DATABASE = "microblog"  # service_kit/settings.py: mongodb_database
# query_service/read_models/timeline_reposts.py: REPOST_FIELDS (what a backfill reads of a repost)
REPOST_FIELDS = ("user_id", "post_id", "post_author_id", "created_at", "reposter_seq")
BATCH_SIZE = 200  # service_kit/settings.py: projector_batch_size
MARKS_KEPT = 1000  # query_service/read_models/counters.py: MARKS_KEPT (= the largest batch)
FANOUT_CHUNK = 1000  # service_kit/settings.py: projector_fanout_chunk
BACKFILL_LIMIT = 200  # service_kit/settings.py: projector_backfill_limit
PAGE_LIMIT = 20  # query_service/api/dependencies.py: page_request default limit
TIMELINE_MAX_ENTRIES = 800  # service_kit/settings.py: timeline_max_entries (Config.max_entries)
REPLY_SAMPLES = 64  # quantiles of the replied-to accounts' follower counts (the reply rule)
FIRST_BATCH = 101  # MongoDB's default first cursor batch (documents)
GETMORE_BYTES = 16 * 1024 * 1024  # a getMore batch holds up to 16 MiB


@dataclass(frozen=True)
class Ratios:
    """Twitter-like call mix: write calls per post, read calls per timeline page. Assumptions."""

    sign_up: float = 0.002  # ~9 accounts/s at 4.6k posts/s
    sign_in: float = 0.2
    user_update: float = 0.005  # only a password rehash on sign-in updates a user today
    reply: float = 0.3  # share of posts that are replies, all to someone else (the reply rule)
    delete: float = 0.02
    follow: float = 0.2
    unfollow: float = 0.05
    like: float = 5.0  # likes per post
    unlike: float = 0.1
    repost: float = 0.5  # by uniformly drawn accounts, like posts (their followers get them)
    unrepost: float = 0.02
    user_page: float = 0.1
    user_posts: float = 0.1
    single_post: float = 0.2
    notifications_page: float = 0.05
    # Of the timeline pages, the share read with a cursor (a later page, which looks up the newer
    # occurrences of its reposted posts); the rest are first pages
    later_page: float = 0.5


@dataclass(frozen=True)
class Config:
    users: int = 1_000_000  # accounts in the generated graph (a uniform sample of the population)
    seed: int = 7
    posts_per_second: float = 4_600.0
    reads_per_second: float = 300_000.0  # timeline pages
    threshold: int = 10_000  # FANOUT_MAX_FOLLOWERS
    target_deliveries: float = 75.0  # mean followers: what a post reaches with full fan-out
    readers: int = 20_000  # readers whose followings are drawn from the graph (read side)
    follower_alpha: float = 1.2  # Pareto II tail index of follower counts
    following_alpha: float = 1.5  # Pareto II tail index of following counts
    max_followers: int = 100_000_000
    max_following: int = 5_000
    max_entries: int = TIMELINE_MAX_ENTRIES  # TIMELINE_MAX_ENTRIES, the cap (C)
    posts_per_author: int = 1_000  # posts an author has in post_views (the recounts count them)
    text_chars: int = 70  # mean post length
    hashtags_per_post: float = 0.2  # mean hashtags a post has (an assumption)
    # Live posts in the (tag, hour) bucket a hashtag's use recounts, averaged over uses: a use of
    # a trending tag recounts a big bucket (an assumption; one recount per bucket and batch)
    posts_per_tag_hour: float = 200.0
    # Of the smaller of the two follower sets a reply rule reads, the share that also follows the
    # other account: who the reply reaches (1.0, an upper bound: every one of them)
    reply_overlap: float = 1.0
    ratios: Ratios = field(default_factory=Ratios)
    planning: Planning = field(default_factory=lambda: Planning())


# ---- oplog entry sizes from the real document shapes -------------------------------------------

NOW = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)


def _oplog_entry(
    op: str, collection: str, o: dict[str, object], *, o2: object = None, retryable: bool = True
) -> bytes:
    """An oplog entry as a replica set writes it. Single-document writes from pymongo are
    retryable writes by default (lsid, txnNumber, stmtId, prevOpTime); multi-document ones
    (update_many, delete_many) are not."""
    entry: dict[str, object] = {
        "op": op,
        "ns": f"{DATABASE}.{collection}",
        "ui": Binary(uuid.UUID(int=1).bytes, 4),
        "o": o,
    }
    if o2 is not None:
        entry["o2"] = o2
    if retryable:
        entry["lsid"] = {"id": Binary(uuid.UUID(int=2).bytes, 4), "uid": Binary(b"u" * 32)}
        entry["txnNumber"] = Int64(123_456)
        entry["stmtId"] = 0
    entry["ts"] = Timestamp(1_795_000_000, 17)
    entry["t"] = Int64(3)
    entry["v"] = Int64(2)
    entry["wall"] = NOW
    if retryable:
        entry["prevOpTime"] = {"ts": Timestamp(0, 0), "t": Int64(-1)}
    return bson.encode(entry)


def _diff(fields: dict[str, object]) -> dict[str, object]:
    """`$v: 2` update oplog entry: only the changed fields."""
    return {"$v": 2, "diff": {"u": fields}}


def _password_hash() -> str:
    from argon2 import PasswordHasher  # a dependency of the command service

    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse")


@dataclass(frozen=True)
class OplogSizes:
    """Bytes of one oplog entry per kind of write, from `bson.encode`."""

    sizes: dict[str, int]

    def __getitem__(self, key: str) -> int:
        return self.sizes[key]


def sample_text(chars: int) -> str:
    """A post of `chars` characters in words of 5 letters (what its search terms are made of)."""
    words = " ".join(f"w{n:04d}" for n in range(chars // 6 + 1))
    return (words + " " + "x" * chars)[:chars]


def measure_oplog_sizes(text_chars: int) -> OplogSizes:
    """Representative documents shaped exactly like the code writes them."""
    from service_kit.text import search_terms_of

    user_id, post_id, other, reposter = ObjectId(), ObjectId(), ObjectId(), ObjectId()
    uid, pid, oid, rid = str(user_id), str(post_id), str(other), str(reposter)
    text = sample_text(text_chars)
    # service_kit/write_model.py: UserDocument, PostDocument, FollowDocument, LikeDocument,
    # RepostDocument, PostSequence
    user = {
        "_id": user_id,
        "handle": "ada_lovelace",
        "handle_lower": "ada_lovelace",
        "display_name": "Ada Lovelace",
        "bio": "",
        "password_hash": _password_hash(),
        "created_at": NOW,
        "updated_at": NOW,
    }
    post = {
        "_id": post_id,
        "author_id": user_id,
        "text": text,
        "reply_to": None,
        "reply_to_author_id": None,
        "author_seq": 1234,
        "hashtags": [],
        "mentions": [],
        "mention_ids": [],
        "created_at": NOW,
        "deleted_at": None,
    }
    follow = {
        "_id": {"follower": other, "followee": user_id},
        "follower_id": other,
        "followee_id": user_id,
        "followee_post_seq": 1234,
        "created_at": NOW,
    }
    reaction = {
        "_id": {"user": other, "post": post_id},
        "user_id": other,
        "post_id": post_id,
        "post_author_id": user_id,
        "created_at": NOW,
    }
    # write_model/reactions.py:upsert_reaction: a repost also takes a number in its reposter's
    # sequence (reposter_seq)
    repost = {**reaction, "reposter_seq": 1235}
    # query_service/read_models/*.py: UserView, PostView, FollowEdge, TimelineEntry, ...
    user_view = {
        "_id": uid,
        "followers_count": 75,
        "following_count": 75,
        "posts_count": 1000,
        "bio": "",
        "created_at": NOW,
        "display_name": "Ada Lovelace",
        "handle": "ada_lovelace",
        "handle_lower": "ada_lovelace",
    }
    post_view = {
        "_id": pid,
        "like_count": 0,
        "repost_count": 0,
        "reply_count": 0,
        "author": {"id": uid, "handle": "ada_lovelace", "display_name": "Ada Lovelace"},
        "author_id": uid,
        "author_seq": 1234,
        "created_at": NOW,
        "in_explore": True,
        "reply_to": None,
        "reply_to_author_id": None,
        "terms": search_terms_of(text),
        "text": text,
    }
    edge = {
        "_id": f"{oid}:{uid}",
        "created_at": NOW,
        "followee_id": uid,
        "followee_post_seq": 1234,
        "follower_id": oid,
    }
    # timeline_entries.py:entry_upsert: a post's own entry, and a repost's `{owner}:{post}:{reposter}`
    entry = {
        "_id": f"{oid}:{pid}",
        "author_id": uid,
        "created_at": NOW,
        "owner_id": oid,
        "post_id": pid,
        "replied_to": None,
        "reposted_by": None,
    }
    repost_entry = {**entry, "_id": f"{oid}:{pid}:{rid}", "reposted_by": rid}
    post_reaction = {
        "_id": f"like:{oid}:{pid}",
        "created_at": NOW,
        "kind": "like",
        "post_author_id": uid,
        "post_id": pid,
        "user_id": oid,
    }
    # reactions.py:_reaction_update: a repost keeps its reposter_seq (a follow's window)
    post_repost = {
        **post_reaction,
        "_id": f"repost:{oid}:{pid}",
        "kind": "repost",
        "reposter_seq": 1235,
    }
    notification = {
        "_id": f"follow:{oid}:{uid}",
        "actor_id": oid,
        "blocked": False,
        "created_at": NOW,
        "kind": "follow",
        "post_id": None,
        "recipient_id": uid,
    }
    bucket = {"_id": "python:2026-11-22T08", "count": 17, "hour": NOW, "tag": "python"}
    search_key: dict[str, object] = {
        "_id": f"{uid}:handle",
        "handle_key": "ada_lovelace",
        "key": "ada_lovelace",
        "kind": "handle",
        "user_id": uid,
    }
    token = {"_data": "8" + "2" * 161}  # a resume token's `_data` (hex KeyString) on MongoDB 8
    marks = {"counter_marks": [Int64(-(2**62) + n) for n in range(MARKS_KEPT)]}
    sizes = {
        "users.insert": _oplog_entry("i", "users", user),
        "users.rehash": _oplog_entry(
            "u",
            "users",
            _diff({"password_hash": user["password_hash"], "updated_at": NOW}),
            o2={"_id": user_id},
        ),
        "posts.insert": _oplog_entry("i", "posts", post),
        "posts.tombstone": _oplog_entry(
            "u", "posts", _diff({"deleted_at": NOW, "text": ""}), o2={"_id": post_id}
        ),
        "post_sequences.inc": _oplog_entry(
            "u", "post_sequences", _diff({"last": 1235}), o2={"_id": user_id}
        ),
        "follows.insert": _oplog_entry("i", "follows", follow),
        "follows.delete": _oplog_entry("d", "follows", {"_id": follow["_id"]}),
        "likes.insert": _oplog_entry("i", "likes", reaction),
        "likes.delete": _oplog_entry("d", "likes", {"_id": reaction["_id"]}),
        "reposts.insert": _oplog_entry("i", "reposts", repost),
        "reposts.delete": _oplog_entry("d", "reposts", {"_id": repost["_id"]}),
        "user_views.insert": _oplog_entry("i", "user_views", user_view),
        "user_views.recount": _oplog_entry(
            "u", "user_views", _diff({"followers_count": 76}), o2={"_id": uid}
        ),
        # counters.py:_add on a document with a full array of marks: `$slice` shifts every
        # element, so the `$v: 2` diff carries the whole array.
        "user_views.counter": _oplog_entry(
            "u", "user_views", _diff({"followers_count": 76, **marks}), o2={"_id": uid}
        ),
        "post_views.counter": _oplog_entry(
            "u", "post_views", _diff({"reply_count": 3, **marks}), o2={"_id": pid}
        ),
        "post_views.insert": _oplog_entry("i", "post_views", post_view),
        "post_views.delete": _oplog_entry("d", "post_views", {"_id": pid}),
        "post_views.reply_count": _oplog_entry(
            "u", "post_views", _diff({"reply_count": 3}), o2={"_id": pid}
        ),
        "follow_edges.insert": _oplog_entry("i", "follow_edges", edge),
        "follow_edges.delete": _oplog_entry("d", "follow_edges", {"_id": edge["_id"]}),
        "timeline_entries.insert": _oplog_entry("i", "timeline_entries", entry),
        "timeline_entries.repost": _oplog_entry("i", "timeline_entries", repost_entry),
        # timelines.py:_add_source: a large followee into the follower's head
        "timeline_entries.head": _oplog_entry(
            "u",
            "timeline_entries",
            _diff({"sources": {uid: 1035}, "created_at": NOW, "owner_id": oid}),
            o2={"_id": f"{oid}:head"},
        ),
        # delete_many is not a retryable write
        "timeline_entries.delete": _oplog_entry(
            "d", "timeline_entries", {"_id": entry["_id"]}, retryable=False
        ),
        "timeline_entries.delete_repost": _oplog_entry(
            "d", "timeline_entries", {"_id": repost_entry["_id"]}, retryable=False
        ),
        "post_reactions.insert": _oplog_entry("i", "post_reactions", post_reaction),
        "post_reactions.delete": _oplog_entry("d", "post_reactions", {"_id": post_reaction["_id"]}),
        "post_reactions.repost": _oplog_entry("i", "post_reactions", post_repost),
        "notifications.upsert": _oplog_entry("i", "notifications", notification),
        "notifications.delete": _oplog_entry("d", "notifications", {"_id": notification["_id"]}),
        "hashtag_hours.upsert": _oplog_entry(
            "u", "hashtag_hours", _diff({"count": 18}), o2={"_id": bucket["_id"]}
        ),
        "user_search_keys.upsert": _oplog_entry("i", "user_search_keys", search_key),
        "projector_checkpoints.update": _oplog_entry(
            "u",
            "projector_checkpoints",
            _diff({"resume_token": token, "updated_at": NOW, "cluster_time": Timestamp(1, 1)}),
            o2={"_id": "read-models"},
        ),
    }
    by_kind = {key: len(value) for key, value in sizes.items()}
    # What the marks add to a counter's oplog entry (the same array on every counted document).
    by_kind["marks"] = by_kind["user_views.counter"] - by_kind["user_views.recount"]
    # Read-side document sizes, for the cursor batch arithmetic.
    by_kind["doc.follow_edge_projected"] = len(
        bson.encode({"_id": edge["_id"], "follower_id": oid})
    )
    by_kind["doc.post_view"] = len(bson.encode(post_view))
    by_kind["doc.post_view_projected"] = len(  # timelines.py:_newest_shown_of_window
        bson.encode({"_id": pid, "created_at": NOW, "author_id": uid, "reply_to_author_id": None})
    )
    by_kind["doc.post_reaction_projected"] = len(  # timeline_reposts.py:backfill_follow
        bson.encode({key: post_repost[key] for key in ("_id", *REPOST_FIELDS)})
    )
    by_kind["doc.timeline_entry"] = len(bson.encode(entry))
    by_kind["doc.timeline_entry_repost"] = len(bson.encode(repost_entry))
    return OplogSizes(by_kind)


# ---- the follow graph ---------------------------------------------------------------------------


@dataclass
class Graph:
    followers: list[int]  # per account, population scale
    following: list[int]
    scale: float  # the calibrated Pareto II scale of follower counts
    # per sampled reader: how many accounts at or above the threshold they follow
    high_followees: list[int]


def _pareto_base(rng: random.Random, n: int, alpha: float) -> list[float]:
    """Unit-scale Pareto II (Lomax) draws: x = U^(-1/alpha) - 1."""
    return [(1.0 - rng.random()) ** (-1.0 / alpha) - 1.0 for _ in range(n)]


def _counts(base: Sequence[float], scale: float, cap: int) -> list[int]:
    return [min(cap, int(scale * b)) for b in base]


def _calibrate(base: Sequence[float], cap: int, target: float) -> float:
    """The scale whose truncated, floored counts have mean `target` (within 0.01%).

    The mean is close to proportional to the scale, so rescaling converges in a few passes."""
    n = len(base)

    def mean(scale: float) -> float:
        return sum(min(cap, int(scale * b)) for b in base) / n

    scale = 1.0
    for _ in range(50):
        current = mean(scale)
        if abs(current - target) <= 1e-4 * target:
            break
        scale *= target / current if current > 0 else 2.0
    return scale


def generate_graph(config: Config) -> Graph:
    """Follower and following counts from Pareto II distributions; the follower scale is
    calibrated so that a post (authors drawn uniformly) reaches `target_deliveries` followers on
    average; following counts are scaled to the same mean (every edge has two ends). A sample of
    readers then draws its followees from the accounts with probability proportional to their
    follower counts (preferential attachment, with replacement)."""
    rng = random.Random(config.seed)  # noqa: S311 - a seeded simulation, not cryptography
    follower_base = _pareto_base(rng, config.users, config.follower_alpha)
    scale = _calibrate(follower_base, config.max_followers, config.target_deliveries)
    followers = _counts(follower_base, scale, config.max_followers)
    following_base = _pareto_base(rng, config.users, config.following_alpha)
    mean_followers = sum(followers) / config.users
    following_scale = _calibrate(following_base, config.max_following, mean_followers)
    following = _counts(following_base, following_scale, config.max_following)

    cumulative = list(itertools.accumulate(followers))
    total = cumulative[-1]
    high = [count >= config.threshold for count in followers]
    readers = rng.sample(range(config.users), min(config.readers, config.users))
    high_followees: list[int] = []
    for reader in readers:
        # The followees a reader follows, without materialising edges we do not need.
        picks = (
            bisect.bisect_right(cumulative, rng.random() * total) for _ in range(following[reader])
        )
        high_followees.append(len({p for p in picks if high[min(p, config.users - 1)]}))
    return Graph(followers, following, scale, high_followees)


# ---- costs ---------------------------------------------------------------------------------------


@dataclass
class Cost:
    """MongoDB work for one call or change (or a rate of them, once scaled)."""

    round_trips: float = 0.0
    docs_read: float = 0.0  # documents returned to the client (or looked up by the server)
    docs_written: float = 0.0  # documents inserted, updated or deleted (one oplog entry each)
    keys_counted: float = 0.0  # index keys examined by count_documents recounts
    oplog_bytes: float = 0.0
    marks_bytes: float = 0.0  # of oplog_bytes: the counter marks the guarded updates rewrite

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.round_trips + other.round_trips,
            self.docs_read + other.docs_read,
            self.docs_written + other.docs_written,
            self.keys_counted + other.keys_counted,
            self.oplog_bytes + other.oplog_bytes,
            self.marks_bytes + other.marks_bytes,
        )

    def scaled(self, factor: float) -> Cost:
        return Cost(
            self.round_trips * factor,
            self.docs_read * factor,
            self.docs_written * factor,
            self.keys_counted * factor,
            self.oplog_bytes * factor,
            self.marks_bytes * factor,
        )


def rt(n: float = 1.0, read: float = 0.0) -> Cost:
    return Cost(round_trips=n, docs_read=read)


def write(sizes: OplogSizes, kind: str, n: float = 1.0, round_trips: float = 1.0) -> Cost:
    marks = n * sizes["marks"] if kind.endswith(".counter") else 0.0
    return Cost(
        round_trips=round_trips, docs_written=n, oplog_bytes=n * sizes[kind], marks_bytes=marks
    )


def cursor_round_trips(documents: float, document_bytes: int) -> float:
    """find + getMores: the first batch holds 101 documents, each getMore up to 16 MiB."""
    if documents <= FIRST_BATCH - 1:  # an exhausted first batch closes the cursor
        return 1.0
    per_getmore = GETMORE_BYTES // document_bytes
    return 1.0 + math.ceil((documents - FIRST_BATCH + 1) / per_getmore)


# A distribution over accounts: (follower count, probability), one pair per distinct count.
Distribution = list[tuple[int, float]]


def distribution(values: Sequence[int], weights: Sequence[float] | None = None) -> Distribution:
    if weights is not None and sum(weights) <= 0:
        weights = None  # nobody has followers: no follow can be weighted by them
    tally: dict[int, float] = {}
    for index, value in enumerate(values):
        tally[value] = tally.get(value, 0.0) + (weights[index] if weights is not None else 1.0)
    total = sum(tally.values())
    return [(value, weight / total) for value, weight in sorted(tally.items())]


def expectation(accounts: Distribution, cost: Callable[[int], Cost]) -> Cost:
    mean = Cost()
    for value, probability in accounts:
        mean = mean + cost(value).scaled(probability)
    return mean


def quantiles(accounts: Distribution, n: int) -> list[int]:
    """`n` values of equal probability standing for the distribution: the value at each
    cumulative probability (k + 1/2) / n. All the same value for a one-value distribution."""
    out: list[int] = []
    cumulative, index = 0.0, 0
    for k in range(n):
        wanted = (k + 0.5) / n
        while index < len(accounts) - 1 and cumulative + accounts[index][1] < wanted:
            cumulative += accounts[index][1]
            index += 1
        out.append(accounts[index][0])
    return out


@dataclass(frozen=True)
class Design:
    name: str
    hybrid: bool  # authors at or above the threshold are merged at read time
    cap: bool  # timelines capped at TIMELINE_MAX_ENTRIES and trimmed
    counters: bool  # O(1) counters (counters.py) instead of count_documents recounts


DESIGNS = (
    # For comparison: every post to every follower (with the reply rule), never trimmed.
    Design("full fan-out", hybrid=False, cap=False, counters=True),
    Design("hybrid fan-out", hybrid=True, cap=False, counters=True),
    Design("hybrid fan-out + cap (the code)", hybrid=True, cap=True, counters=True),
    # The code with the counters of before O(1) counters, for comparison.
    Design("hybrid fan-out + cap, recounts", hybrid=True, cap=True, counters=False),
)
CODE = DESIGNS[2]  # what query_service does; tests/test_capacity_model.py checks it against it


@dataclass(frozen=True)
class Row:
    name: str
    code: str
    per_second: float
    per_call: Cost
    side: str  # WRITE_MODEL, READ_MODELS (queries) or PROJECTOR

    @property
    def total(self) -> Cost:
        return self.per_call.scaled(self.per_second)


WRITE_MODEL, READ_MODELS, PROJECTOR = "command service", "query service", "projector"


@dataclass(frozen=True)
class Result:
    design: Design
    calls: list[Row]
    changes: list[Row]
    deliveries_per_post: float
    timeline_entries_written_per_second: float
    timeline_entries_deleted_per_second: float
    merged_read_share: float
    mean_in_authors: float
    deliveries_per_repost: float
    # of the timeline entries written, the share a repost brings (`{owner}:{post}:{reposter}`)
    repost_entry_share: float


def model(config: Config, graph: Graph, sizes: OplogSizes, design: Design) -> Result:
    r = config.ratios
    posts, reads = config.posts_per_second, config.reads_per_second
    threshold = config.threshold
    authors = distribution(graph.followers)  # authors post uniformly
    # followees are chosen in proportion to their follower counts (preferential attachment), and
    # so are the accounts replied to (one replies to what one reads)
    followees = distribution(graph.followers, [float(d) for d in graph.followers])
    replied_counts = quantiles(followees, REPLY_SAMPLES)
    mean_following = sum(graph.following) / len(graph.following)
    posts_per_author = config.posts_per_author
    trim_every = max(1, config.max_entries // 2)  # timelines.py:trim_due
    edge_bytes = sizes["doc.follow_edge_projected"]
    # reactions a post has when it is deleted, and their notifications (like and repost)
    reactions_per_post = max(0.0, r.like - r.unlike) + max(0.0, r.repost - r.unrepost)

    def is_high(d: int) -> bool:
        return design.hybrid and d >= threshold

    def delivered(d: int) -> int:
        return 0 if is_high(d) else d

    def reply_candidates(d: int, y: int) -> int:
        """timelines.py:_reply_audience reads the smaller follower set: the author's (d) unless
        it has more than one follower more than the account replied to (y)."""
        return d if d <= y + 1 else y

    # The replied-to accounts as REPLY_SAMPLES equally likely follower counts, sorted; an author
    # with d followers reads its own followers for those with y >= d - 1, theirs for the others
    # (prefix sums over the samples make that O(log n) per author).
    replied_counts = sorted(replied_counts)
    candidates_below = list(itertools.accumulate(replied_counts, initial=0))

    def replied_below(d: int) -> int:
        """How many samples have y < d - 1 (the reply rule reads their follower sets)."""
        return bisect.bisect_left(replied_counts, d - 1)

    def reach(d: int, reply: bool) -> float:
        """Followers' timelines a post reaches (beyond its author's)."""
        if not reply:
            return delivered(d)
        below = replied_below(d)
        candidates = candidates_below[below] + d * (len(replied_counts) - below)
        return config.reply_overlap * candidates / len(replied_counts)

    # A follow's window is BACKFILL_LIMIT numbers of the followee's sequence, which its posts and
    # its reposts share (write_model/reactions.py:upsert_reaction draws a number per repost): of
    # every 1 + repost numbers an account draws, one is a post. Every number is assumed live
    # (an upper bound: deleted posts and taken-back reposts leave gaps).
    numbers_per_post = 1.0 + r.repost

    def capped(n: float) -> float:
        return min(n, float(config.max_entries)) if design.cap else n

    # timelines.py:_newest_shown_of_window copies the newest C of each kind of the window apart:
    # the followee's replies to others (every one of them counted in: an upper bound, a reply to
    # someone the follower does not follow is left out) and its other posts;
    # timeline_reposts.py:backfill_follow its newest C reposts. A large followee's window gives
    # only its replies to others (its posts and reposts are merged when a page is read).
    window_posts = BACKFILL_LIMIT / numbers_per_post
    window_replies = capped(r.reply * window_posts)
    window_own = capped((1 - r.reply) * window_posts)
    window_reposts = capped(BACKFILL_LIMIT - window_posts)

    def backfilled(d: int) -> float:
        return window_replies if is_high(d) else window_replies + window_own + window_reposts

    def per_post(d: int) -> float:
        return (1 - r.reply) * reach(d, False) + r.reply * reach(d, True)

    deliveries = expectation(authors, lambda d: Cost(docs_written=per_post(d))).docs_written
    # timeline_reposts.py:deliver_repost: a repost reaches its reposter's followers whose window
    # admits it, unless the reposter is large (reposters are drawn uniformly, like authors); a
    # post's own author is left out (not counted: one owner in a million)
    per_repost = expectation(authors, lambda d: Cost(docs_written=delivered(d))).docs_written
    backfill = expectation(followees, lambda d: Cost(docs_written=backfilled(d))).docs_written
    reposts_kept = max(0.0, r.repost - r.unrepost)  # a post's reposts when it is deleted
    repost_written = posts * r.repost * (1 + per_repost)
    written = posts * (1 + deliveries) + repost_written + posts * r.follow * backfill
    removed = (
        posts * r.delete * (1 + deliveries + reposts_kept * (1 + per_repost))
        + posts * r.unrepost * (1 + per_repost)
        + posts * r.unfollow * backfill
    )
    backfilled_reposts = expectation(
        followees, lambda d: Cost(docs_written=0.0 if is_high(d) else window_reposts)
    ).docs_written
    repost_share = (repost_written + posts * r.follow * backfilled_reposts) / max(1e-9, written)
    # With the cap, a full timeline loses its oldest entry for every new one: at steady state
    # the trims make up whatever the deletes and unfollows did not remove.
    trim_share = max(0.0, 1.0 - removed / written) if design.cap else 0.0

    # The marks a post view's counter update carries: its k-th counted change (a like, repost or
    # reply to it) pushes the k-th mark, so the array holds min(k, MARKS_KEPT). A post's counted
    # changes are assumed proportional to its author's followers (its reach), so a counted
    # change lands on a post by an author with d followers with probability proportional to d.
    engagement = r.like + r.repost + r.reply
    mean_followers = max(1e-9, sum(graph.followers) / len(graph.followers))

    def marks_held(d: int) -> float:
        """Mean marks over the counted changes of a post that gets L of them."""
        changes = engagement * d / mean_followers
        if changes <= 0:
            return 0.0
        if changes <= MARKS_KEPT:
            return (changes + 1) / 2
        full = MARKS_KEPT * (MARKS_KEPT + 1) / 2 + (changes - MARKS_KEPT) * MARKS_KEPT
        return full / changes

    post_marks = expectation(followees, lambda d: Cost(docs_written=marks_held(d))).docs_written

    def membership() -> Cost:
        """counters.py:change_membership reads the membership before it counts (O(1) counters;
        before them, the membership was written without a look)."""
        return rt(1, 1) if design.counters else Cost()

    def user_count(followers: float, following: float, authored: float, changed: int) -> Cost:
        """With O(1) counters (counters.py:_add), one guarded update per changed counter. Before
        them, UsersProjection.finish_batch, per stale user: three count_documents (followers,
        following, posts: O(count) index keys each) and one update_one."""
        if design.counters:
            return write(sizes, "user_views.counter", changed, round_trips=changed)
        counted = Cost(round_trips=3, keys_counted=followers + following + authored)
        if changed:
            return counted + write(sizes, "user_views.recount")
        return counted + rt(1)  # the update_one runs and changes nothing: no oplog entry

    def post_count(changed: bool) -> Cost:
        """A post view's counter (reply, like or repost count): one guarded update when it
        changes, with the marks the view holds (post_marks). Before O(1) counters,
        PostsProjection.finish_batch, per stale post: a count_documents and an update_one (a
        no-op write when the count did not change)."""
        if design.counters:
            if not changed:
                return Cost()
            marks = post_marks * sizes["marks"] / MARKS_KEPT
            entry = sizes["post_views.reply_count"] + marks
            return Cost(round_trips=1, docs_written=1, oplog_bytes=entry, marks_bytes=marks)
        return rt(1) + (write(sizes, "post_views.reply_count") if changed else rt(1))

    # runner.py: per full batch of BATCH_SIZE changes, one getMore on the change stream and one
    # checkpoints.py:save_checkpoint.
    per_batch = (rt(1) + write(sizes, "projector_checkpoints.update")).scaled(1.0 / BATCH_SIZE)

    def entries(kind: str, n: float, reposts: float = 0.0) -> Cost:
        """Timeline entries (`kind`: insert, a post's own; repost, a repost's), and `reposts`
        more repost entries in the same bulk, in bulk_write chunks of FANOUT_CHUNK
        (timeline_entries.py:Bulk)."""
        chunks = math.ceil((n + reposts) / FANOUT_CHUNK)
        cost = write(sizes, f"timeline_entries.{kind}", n, round_trips=chunks)
        return cost + write(sizes, "timeline_entries.repost", reposts, round_trips=0)

    def entry_deletes(n: float, reposts: float, round_trips: float = 1.0) -> Cost:
        """Deletes of n timeline entries, `reposts` of them a repost's (a longer `_id`)."""
        posts_part = write(sizes, "timeline_entries.delete", n - reposts, round_trips=round_trips)
        return posts_part + write(sizes, "timeline_entries.delete_repost", reposts, round_trips=0)

    def trims(n: float) -> Cost:
        """timeline_entries.py:trim, on 1 in max(1, C // 2) of n deliveries (trim_due): a skip
        query over the owner's newest entries, then one delete_many of those beyond the cap (a
        full timeline at steady state, whose oldest entries are posts' and reposts' in the
        proportion they are written)."""
        if not design.cap:
            return Cost()
        trimmed = n / trim_every
        deleted = n * trim_share
        return rt(trimmed, trimmed) + entry_deletes(deleted, deleted * repost_share, trimmed)

    def hashtags(insert: bool) -> Cost:
        """Per (tag, hour) bucket of a post's hashtags. With O(1) counters (counters.py:_add, the
        bucket made by its counts): one guarded increment (an upsert), or, for a tombstone, a
        guarded decrement and the delete_one of a bucket back at 0; the update carries the
        bucket's marks (one per use, up to MARKS_KEPT). Before them, hashtags.py:finish_batch
        recounted the bucket's posts (O(posts in the bucket)) and wrote it."""
        if design.counters:
            marks = min(config.posts_per_tag_hour, MARKS_KEPT) * sizes["marks"] / MARKS_KEPT
            entry = sizes["hashtag_hours.upsert"] + marks
            bucket = Cost(
                round_trips=1 if insert else 2, docs_written=1, oplog_bytes=entry, marks_bytes=marks
            )
        else:
            bucket = Cost(round_trips=1, keys_counted=config.posts_per_tag_hour) + write(
                sizes, "hashtag_hours.upsert"
            )
        return bucket.scaled(config.hashtags_per_post)

    def reconcile() -> Cost:
        """timelines.py:reconcile_fanout, per followee whose followers changed in a batch: the
        exact follower counts (user_views) and the heads (timeline_entries); the crossings of the
        threshold themselves are rare and not modelled."""
        return rt(2, 2) if design.hybrid else Cost()

    def user_change(insert: bool) -> Cost:
        # users.py:apply upsert (a no-op on a rehash, whose fields it does not project);
        # posts.py:_refresh_author update_many over the author's post_views (none for a new
        # user; on an update it examines all of them and writes none when the name is
        # unchanged); search.py: one bulk of the two search keys (unchanged on a rehash)
        project = write(sizes, "user_views.insert") if insert else rt(1)
        lookup = Cost() if insert else Cost(docs_read=1)  # updateLookup on an update event
        refresh = rt(1, 0 if insert else posts_per_author)
        recount = user_count(0, 0, 0, 0) if insert else user_count(75, 75, posts_per_author, 0)
        search_keys = write(sizes, "user_search_keys.upsert", 2) if insert else rt(1)
        return lookup + project + refresh + recount + search_keys + per_batch

    def reply_fanout(candidates: int, asks_replied: bool) -> Cost:
        """timelines.py:_reply_audience: both follower counts (user_views), [does the account
        replied to follow the author: when its followers are read], the smaller follower set,
        one check against the other per FANOUT_CHUNK of it; the entries and their trims."""
        audience = config.reply_overlap * candidates
        cost = rt(1, 2) + (rt(1, config.reply_overlap) if asks_replied else Cost())
        cost = cost + Cost(
            round_trips=cursor_round_trips(candidates, edge_bytes), docs_read=candidates
        )
        cost = cost + rt(math.ceil(candidates / FANOUT_CHUNK), audience)
        return cost + entries("insert", 1 + audience) + trims(1 + audience)

    fanout_below = list(
        itertools.accumulate((reply_fanout(y, True) for y in replied_counts), initial=Cost())
    )

    def mean_reply_fanout(d: int) -> Cost:
        below = replied_below(d)
        mine = reply_fanout(d, False).scaled(len(replied_counts) - below)
        return (fanout_below[below] + mine).scaled(1 / len(replied_counts))

    def post_insert(d: int, reply: bool) -> Cost:
        """A post by an author with d followers; a reply is to someone else (the reply rule)."""
        # posts.py:apply: _author_summary find_one, then counters.py:change_membership (the view
        # before, the author's posts count and a reply's parent's reply count, the view's
        # update_one upsert)
        cost = rt(1, 1) + membership() + write(sizes, "post_views.insert")
        cost = cost + user_count(d, mean_following, posts_per_author, 1)
        if not design.counters:
            cost = cost + post_count(False)  # the post's own reply count, recounted unchanged
        if reply:
            cost = cost + post_count(True) + mean_reply_fanout(d)
            # notifications.py:_project_post: the replied-to's blocks (one find), the reply's
            # notification (one bulk); a post without a reply or mentions notifies nobody
            cost = cost + rt(1) + write(sizes, "notifications.upsert")
        else:
            # timelines.py:deliver_post: is_large reads the author's head; _timeline_owners:
            # follow_edges find by followee_id, unless large
            if design.hybrid:
                cost = cost + rt(1, 1)
            if not is_high(d):
                cost = cost + Cost(round_trips=cursor_round_trips(d, edge_bytes), docs_read=d)
            owners = 1.0 + delivered(d)
            cost = cost + entries("insert", owners) + trims(owners)
        return cost + hashtags(True) + per_batch

    def post_insert_mix(d: int) -> Cost:
        return post_insert(d, False).scaled(1 - r.reply) + post_insert(d, True).scaled(r.reply)

    def post_tombstone(d: int) -> Cost:
        # update event: updateLookup reads the post; posts.py:apply, counters.py (the view
        # before, the author's posts count, a reply's parent's reply count, delete_one);
        # timelines.py:remove_post delete_many by post_id, its own entries and those its reposts
        # brought (the entries of a recent post are assumed to be still within the cap);
        # reactions.py and notifications.py: a delete_many by post_id each (its likes and
        # reposts, and their notifications and a reply's); hashtags.py: the buckets its stored
        # hashtags counted in
        reposted = reposts_kept * (1 + per_repost)
        owners = 1 + per_post(d) + reposted
        cost = Cost(docs_read=1) + membership() + write(sizes, "post_views.delete")
        cost = cost + user_count(d, mean_following, posts_per_author, 1)
        cost = cost + post_count(True).scaled(r.reply)  # a deleted reply's parent
        cost = cost + entry_deletes(owners, reposted)
        cost = cost + write(sizes, "post_reactions.delete", reactions_per_post)
        cost = cost + write(sizes, "notifications.delete", reactions_per_post + r.reply)
        return cost + hashtags(False) + per_batch

    def follow_change(d: int, insert: bool) -> Cost:
        # follows.py:apply: counters.py:change_membership (the edge before, two counters, the
        # edge's upsert or delete_one)
        followee = user_count(d, mean_following, posts_per_author, 1)
        follower = user_count(75, mean_following, posts_per_author, 1)
        cost = membership() + followee + follower
        copied = backfilled(d)
        reposts = 0.0 if is_high(d) else window_reposts
        if insert:
            cost = cost + write(sizes, "follow_edges.insert")
            # timelines.py:follow_in: is_large (the followee's head); a large followee into the
            # follower's head; _newest_shown_of_window: unless large, the window's other posts
            # (one post_views find, newest first), then always its replies to others (a second
            # find) and, when there are any, one follow_edges check per chunk (_admitted); the
            # follower's followees and the replies to the followee by them (_replies_to: found
            # few, not counted)
            if design.hybrid:
                cost = cost + rt(1, 1)
            if is_high(d):
                cost = cost + write(sizes, "timeline_entries.head")
            post_bytes = sizes["doc.post_view_projected"]
            if not is_high(d):
                own = window_own
                cost = cost + Cost(round_trips=cursor_round_trips(own, post_bytes), docs_read=own)
            replies = window_replies
            cost = cost + Cost(
                round_trips=cursor_round_trips(replies, post_bytes), docs_read=replies
            )
            if replies > 0:
                cost = cost + rt(math.ceil(replies / FANOUT_CHUNK), replies)
            cost = cost + rt(1, mean_following) + rt(1)
            if not is_high(d):
                # timeline_reposts.py:backfill_follow: the followee's newest C reposts in the
                # window (post_reactions), and _write_reposts: one block_edges lookup (one owner)
                reaction_bytes = sizes["doc.post_reaction_projected"]
                cost = cost + Cost(
                    round_trips=cursor_round_trips(reposts, reaction_bytes), docs_read=reposts
                )
                if reposts > 0:
                    cost = cost + rt(1)
            # one bulk per FANOUT_CHUNK entries, posts and reposts together
            cost = cost + entries("insert", copied - reposts, reposts)
            if reposts > 0:
                # timeline_entries.py:drop_entries_of_gone_posts: the copied reposts' posts are
                # still live? (one post_views find after the bulk; none gone, nothing deleted)
                cost = cost + rt(1, reposts)
            if design.cap:  # the follower's trim
                cost = cost + rt(1, 1)
                deleted = copied * trim_share
                cost = cost + entry_deletes(deleted, deleted * repost_share)
            # notifications.py:_project_follow: the followee's blocks, the notification's upsert
            cost = cost + rt(1) + write(sizes, "notifications.upsert")
        else:
            cost = cost + write(sizes, "follow_edges.delete")
            # timelines.py:follow_out: one ordered bulk (the author's posts and reposts in one
            # `$or` delete, the replies to them, the source in the head); notifications.py: the
            # follow's notification
            cost = cost + entry_deletes(copied, reposts)
            cost = cost + write(sizes, "notifications.delete")
        return cost + reconcile() + per_batch

    def reaction_change(insert: bool, repost: bool = False) -> Cost:
        # reactions.py:apply: the post is projected? (a view find_one), counters.py (the reaction
        # before, the post's like or repost count, the reaction's upsert, with a repost's
        # reposter_seq, or delete); notifications.py:_project_reaction: the post is projected?
        # again, the author's blocks, the notification's upsert; or, for a delete, the
        # notification's delete_one
        if insert:
            cost = rt(1, 1) + membership() + post_count(True)
            cost = cost + write(
                sizes, "post_reactions.repost" if repost else "post_reactions.insert"
            )
            cost = cost + rt(1, 1) + rt(1) + write(sizes, "notifications.upsert")
        else:
            cost = membership() + post_count(True) + write(sizes, "post_reactions.delete")
            cost = cost + write(sizes, "notifications.delete")
        return cost + per_batch

    def repost_change(d: int, insert: bool) -> Cost:
        """A repost by an account with d followers: as a like, plus its timelines."""
        owners = 1.0 + delivered(d)  # the reposter's timeline and its followers'
        if insert:
            # timeline_reposts.py:deliver_repost: the post's view (its author), is_large (the
            # reposter's head), _audience: follow_edges find by followee_id unless large, then
            # per chunk of FANOUT_CHUNK owners ONE block_edges lookup (_unblocked), the entries
            # `{owner}:{post}:{reposter}` in bulks of FANOUT_CHUNK, and their trims
            cost = rt(1, 1) + (rt(1, 1) if design.hybrid else Cost())
            if not is_high(d):
                cost = cost + Cost(round_trips=cursor_round_trips(d, edge_bytes), docs_read=d)
            cost = cost + rt(math.ceil(owners / FANOUT_CHUNK))
            cost = cost + entries("repost", owners) + trims(owners)
        else:
            # timeline_reposts.py:apply_repost: one delete_many of the repost's entries (by
            # post_id and reposted_by; a recent repost's entries are assumed to be still within
            # the cap)
            cost = entry_deletes(owners, owners)
        return cost + reaction_change(insert, repost=True)

    # ---- API calls: command_service/commands/*.py (the use case; the HTTP layer's token check
    # and rate limits are not counted) --------------------------------------------------------
    sign_up = rt(1) + write(sizes, "users.insert")  # find_user_by_handle (none) + insert_user
    sign_in = rt(1, 1)  # find_user_by_handle
    rehash = rt(1, 1) + write(sizes, "users.rehash")  # + replace_password_hash
    # posts.py:insert_post: post_sequences find_one_and_update $inc, then insert_one (a post
    # without mentions looks up no handles)
    post_call = write(sizes, "post_sequences.inc") + write(sizes, "posts.insert")
    # find_live_post(reply_to) first, then blocks_between (no block: nothing read)
    reply_call = rt(1, 1) + rt(1) + post_call
    delete_call = rt(1, 1) + write(sizes, "posts.tombstone")  # find_live_post + update_one
    # follows.py:follow: find_user_by_handle + blocks_between + last_post_number + upsert_follow
    # + blocks_between again (the race with a block; no block: nothing read)
    follow_call = rt(2, 2) + rt(2) + write(sizes, "follows.insert")
    unfollow_call = rt(1, 1) + write(sizes, "follows.delete")  # find_user_by_handle + delete_one
    # reactions.py: find_live_post + is_blocked_by (the post's author) + upsert; or
    # find_live_post + delete_one
    react_call = rt(1, 1) + rt(1) + write(sizes, "likes.insert")
    take_back_call = rt(1, 1) + write(sizes, "likes.delete")
    # a repost: write_model/reactions.py:upsert_reaction also asks whether it is reposted
    # already (find_one, none found) and takes the next number in the reposter's sequence
    # (posts.py:next_post_number, a post_sequences $inc) before the upsert
    repost_call = (
        rt(1, 1)
        + rt(1)
        + rt(1)
        + write(sizes, "post_sequences.inc")
        + write(sizes, "reposts.insert")
    )
    unrepost_call = rt(1, 1) + write(sizes, "reposts.delete")
    # ---- query_service/api/*.py, a signed-in reader: every page of posts ends with
    # viewer.py:for_viewer, one `$in` lookup of what the reader liked and reposted --------------
    page = PAGE_LIMIT + 1  # pagination.py:page_of asks for one more than the limit
    likes_lookup = rt(1)
    # home_timeline.py:home_timeline, without large accounts followed: the entries (with the
    # head: it sorts first; page of them), the views of their posts (_views_and_merged_posts: up
    # to a page), the reposters' names (_with_reposters, user_views: charged on every page, an
    # upper bound; with repost_share of the entries a repost's, a page of 20 without one is
    # rare), the likes lookup
    names = rt(1, PAGE_LIMIT * repost_share)
    timeline = rt(1, page) + rt(1, page) + names + likes_lookup
    # a later page: + one lookup of the newer entries of its posts that have reposts
    # (_shown_before: charged on every later page; found few, not counted)
    later_timeline = timeline + rt(1)
    merged_readers = [n for n in graph.high_followees if n > 0] if design.hybrid else []
    merged_share = len(merged_readers) / max(1, len(graph.high_followees))
    mean_in = sum(merged_readers) / len(merged_readers) if merged_readers else 0.0
    # With large accounts followed: the entries with the head (a later page too, in the same
    # query), the large accounts' reposts in their windows (_merged_reposts: post_reactions, a
    # page of them) and the blocks between the reader and their authors (_blocked_either_way:
    # charged on every page, an upper bound: it runs when any repost is merged), then ONE
    # post_views query for the views of the entries' and merged reposts' posts and the large
    # accounts' posts: its limit is a page + the ids needed (up to 2 pages), and the windows
    # fill it (its fallback for views crowded out is rare and not counted); the names, the likes
    # lookup
    merged_timeline = rt(1, page + 1) + rt(1, page) + rt(1) + rt(1, 3 * page) + names + likes_lookup
    # a later page: + the newer entries and the large accounts' newer reposts of its posts that
    # have reposts (_shown_before, two lookups; found few, not counted)
    merged_later_timeline = merged_timeline + rt(2)
    # api/notifications.py: the read mark, one page, the capped unread count, the actors' and
    # the posts' views, the likes lookup
    notifications_page = rt(1, 1) + rt(1, page) + rt(1) + rt(2, 2 * PAGE_LIMIT) + likes_lookup
    calls = [
        Row("sign-up", "accounts.py:register_user", posts * r.sign_up, sign_up, WRITE_MODEL),
        Row(
            "sign-in",
            "accounts.py:sign_in",
            posts * (r.sign_in - r.user_update),
            sign_in,
            WRITE_MODEL,
        ),
        Row("sign-in + rehash", "accounts.py:sign_in", posts * r.user_update, rehash, WRITE_MODEL),
        Row("post", "posts.py:create_post", posts * (1 - r.reply), post_call, WRITE_MODEL),
        Row("reply", "posts.py:create_post", posts * r.reply, reply_call, WRITE_MODEL),
        Row("delete", "posts.py:delete_post", posts * r.delete, delete_call, WRITE_MODEL),
        Row("follow", "follows.py:follow", posts * r.follow, follow_call, WRITE_MODEL),
        Row("unfollow", "follows.py:unfollow", posts * r.unfollow, unfollow_call, WRITE_MODEL),
        Row("like", "reactions.py:like", posts * r.like, react_call, WRITE_MODEL),
        Row("unlike", "reactions.py:unlike", posts * r.unlike, take_back_call, WRITE_MODEL),
        Row("repost", "reactions.py:repost", posts * r.repost, repost_call, WRITE_MODEL),
        Row("unrepost", "reactions.py:unrepost", posts * r.unrepost, unrepost_call, WRITE_MODEL),
        Row(
            "timeline page",
            "home_timeline.py:home_timeline, viewer.py",
            reads * (1 - merged_share) * (1 - r.later_page),
            timeline,
            READ_MODELS,
        ),
        Row(
            "timeline page, later",
            "home_timeline.py:home_timeline, viewer.py",
            reads * (1 - merged_share) * r.later_page,
            later_timeline,
            READ_MODELS,
        ),
        Row(
            "timeline page, merged",
            "home_timeline.py:home_timeline, viewer.py",
            reads * merged_share * (1 - r.later_page),
            merged_timeline,
            READ_MODELS,
        ),
        Row(
            "timeline page, merged, later",
            "home_timeline.py:home_timeline, viewer.py",
            reads * merged_share * r.later_page,
            merged_later_timeline,
            READ_MODELS,
        ),
        Row("user page", "users.py:user_by_handle", reads * r.user_page, rt(1, 1), READ_MODELS),
        Row(
            "user posts",
            "users.py:user_by_handle, posts.py:posts_by_author, viewer.py",
            reads * r.user_posts,
            rt(1, 1) + rt(1, page) + likes_lookup,
            READ_MODELS,
        ),
        Row(
            "single post",
            "posts.py:post_by_id, viewer.py",
            reads * r.single_post,
            rt(1, 1) + likes_lookup,
            READ_MODELS,
        ),
        Row(
            "notifications page",
            "api/notifications.py, viewer.py",
            reads * r.notifications_page,
            notifications_page,
            READ_MODELS,
        ),
    ]
    changes = [
        Row(
            "user insert",
            "users.py:apply, posts.py:_refresh_author, search.py",
            posts * r.sign_up,
            user_change(True),
            PROJECTOR,
        ),
        Row(
            "user update",
            "users.py:apply, posts.py:_refresh_author, search.py",
            posts * r.user_update,
            user_change(False),
            PROJECTOR,
        ),
        Row(
            "post insert",
            "posts.py, counters.py, timelines.py:deliver_post, notifications.py, hashtags.py",
            posts,
            expectation(authors, post_insert_mix),
            PROJECTOR,
        ),
        Row(
            "post tombstone",
            "posts.py, counters.py, timelines.py:remove_post, reactions.py, notifications.py, "
            "hashtags.py",
            posts * r.delete,
            expectation(authors, post_tombstone),
            PROJECTOR,
        ),
        Row(
            "follow insert",
            "follows.py, counters.py, timelines.py:follow_in, notifications.py",
            posts * r.follow,
            expectation(followees, lambda d: follow_change(d, True)),
            PROJECTOR,
        ),
        Row(
            "follow delete",
            "follows.py, counters.py, timelines.py:follow_out, notifications.py",
            posts * r.unfollow,
            expectation(followees, lambda d: follow_change(d, False)),
            PROJECTOR,
        ),
        Row(
            "like insert",
            "reactions.py, counters.py, notifications.py",
            posts * r.like,
            reaction_change(True),
            PROJECTOR,
        ),
        Row(
            "like delete",
            "reactions.py, counters.py, notifications.py",
            posts * r.unlike,
            reaction_change(False),
            PROJECTOR,
        ),
        Row(
            "repost insert",
            "timeline_reposts.py:deliver_repost, reactions.py, counters.py, notifications.py",
            posts * r.repost,
            expectation(authors, lambda d: repost_change(d, True)),
            PROJECTOR,
        ),
        Row(
            "repost delete",
            "timeline_reposts.py:apply_repost, reactions.py, counters.py, notifications.py",
            posts * r.unrepost,
            expectation(authors, lambda d: repost_change(d, False)),
            PROJECTOR,
        ),
    ]
    return Result(
        design,
        [row for row in calls if row.per_second > 0],
        [row for row in changes if row.per_second > 0],
        deliveries,
        written,
        removed + written * trim_share,
        merged_share,
        mean_in,
        per_repost,
        repost_share,
    )


def side_totals(result: Result) -> dict[str, Cost]:
    out = {WRITE_MODEL: Cost(), READ_MODELS: Cost(), PROJECTOR: Cost()}
    for row in result.calls + result.changes:
        out[row.side] = out[row.side] + row.total
    return out


# ---- sizing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planning:
    """Per-server planning figures: assumptions to validate with a benchmark on real hardware."""

    writes_per_shard: float = 25_000.0  # documents written per second a shard primary sustains
    queries_per_member: float = 40_000.0  # indexed round trips per second one member serves
    members_per_shard: int = 3
    history_hours: float = 24.0  # change history (oplog window) each replica set should keep
    round_trip_ms: float = 0.5  # one MongoDB round trip inside the cluster


def summary(result: Result, sizes: OplogSizes, planning: Planning) -> dict[str, float]:
    sides = side_totals(result)
    command, queries, projector = sides[WRITE_MODEL], sides[READ_MODELS], sides[PROJECTOR]
    write_gb_h = command.oplog_bytes * 3600 / 1e9
    read_gb_h = projector.oplog_bytes * 3600 / 1e9
    read_shards_for_writes = math.ceil(projector.docs_written / planning.writes_per_shard)
    read_members = math.ceil(
        (queries.round_trips + projector.round_trips) / planning.queries_per_member
    )
    read_shards = max(read_shards_for_writes, math.ceil(read_members / planning.members_per_shard))
    write_shards = math.ceil(command.docs_written / planning.writes_per_shard)
    growth = result.timeline_entries_written_per_second - result.timeline_entries_deleted_per_second
    share = result.repost_entry_share
    entry_bytes = (1 - share) * sizes["doc.timeline_entry"] + share * sizes[
        "doc.timeline_entry_repost"
    ]
    return {
        "deliveries per post": result.deliveries_per_post,
        "deliveries per repost": result.deliveries_per_repost,
        "timeline entries written/s": result.timeline_entries_written_per_second,
        "timeline entries deleted/s": result.timeline_entries_deleted_per_second,
        "timeline_entries growth GB/day (documents only)": growth * entry_bytes * 86_400 / 1e9,
        "timeline pages that merge (share)": result.merged_read_share,
        "authors in the $in (mean, merged pages)": result.mean_in_authors,
        "command service round trips/s": command.round_trips,
        "write model documents written/s": command.docs_written,
        "write model oplog GB/hour": write_gb_h,
        "projector round trips/s": projector.round_trips,
        "projector documents written/s": projector.docs_written,
        "projector recount index keys/s": projector.keys_counted,
        "read models oplog GB/hour": read_gb_h,
        "of which counter marks GB/hour": projector.marks_bytes * 3600 / 1e9,
        "query service round trips/s": queries.round_trips,
        "query service documents read/s": queries.docs_read,
        "oplog entries/s the change stream scans, shared replica set": command.docs_written
        + projector.docs_written,
        "oplog entries/s the change stream scans, read models apart": command.docs_written,
        f"write model oplog GB for {planning.history_hours:g} h of history, shared": (
            write_gb_h + read_gb_h
        )
        * planning.history_hours,
        f"write model oplog GB for {planning.history_hours:g} h of history, apart": write_gb_h
        * planning.history_hours,
        "projector busy seconds per second, one change at a time": projector.round_trips
        * planning.round_trip_ms
        / 1000,
        "write model shards (by writes)": write_shards,
        "read model shards (by writes)": read_shards_for_writes,
        "read model members (by round trips, queries + projector)": read_members,
        "read model shards (3 members each, both limits)": read_shards,
        "read model oplog GB/hour per shard": read_gb_h / read_shards,
    }


# ---- output --------------------------------------------------------------------------------------


def _n(value: float) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _table(rows: list[Row], title: str) -> list[str]:
    lines = [
        f"| {title} | per s | round trips each | round trips/s | docs read/s | docs written/s "
        "| recount keys/s | oplog MB/s | code |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    total = Cost()
    for row in rows:
        t = row.total
        total = total + t
        lines.append(
            f"| {row.name} | {_n(row.per_second)} | {_n(row.per_call.round_trips)} "
            f"| {_n(t.round_trips)} | {_n(t.docs_read)} | {_n(t.docs_written)} "
            f"| {_n(t.keys_counted)} | {t.oplog_bytes / 1e6:.2f} | {row.code} |"
        )
    lines.append(
        f"| **total** | | | **{_n(total.round_trips)}** | **{_n(total.docs_read)}** "
        f"| **{_n(total.docs_written)}** | **{_n(total.keys_counted)}** "
        f"| **{total.oplog_bytes / 1e6:.2f}** | |"
    )
    return lines


def report(config: Config, graph: Graph, sizes: OplogSizes, results: list[Result]) -> str:
    followers = graph.followers
    high = [d for d in followers if d >= config.threshold]
    planning = config.planning
    lines = [
        "## Graph",
        "",
        f"- accounts: {config.users:,} (seed {config.seed}); follower counts Pareto II "
        f"(alpha {config.follower_alpha}, scale {graph.scale:.3f} calibrated, at most "
        f"{config.max_followers:,}); following counts Pareto II (alpha {config.following_alpha}, "
        f"at most {config.max_following:,}, same mean)",
        f"- mean followers = deliveries per post (not a reply) with full fan-out: "
        f"{sum(followers) / len(followers):.2f} (target {config.target_deliveries:g})",
        f"- median followers {sorted(followers)[len(followers) // 2]}, max {max(followers):,}",
        f"- accounts with >= {config.threshold:,} followers: {len(high):,} "
        f"({len(high) / len(followers):.3%}), holding {sum(high) / sum(followers):.1%} of all "
        "follow edges",
        f"- readers whose followings were drawn: {len(graph.high_followees):,}",
        f"- load: {config.posts_per_second:,.0f} posts/s, {config.reads_per_second:,.0f} "
        f"timeline pages/s; other calls in fixed ratios ({asdict(config.ratios)})",
        "",
        "## Oplog entry sizes (bytes; `bson.encode` of the entry around the project's documents)",
        "",
        "| entry | bytes |",
        "|---|---:|",
        *[f"| {key} | {value} |" for key, value in sizes.sizes.items()],
        "",
    ]
    for result in results:
        lines += [
            f"## {result.design.name}",
            "",
            *_table(result.calls, "API call"),
            "",
            *_table(result.changes, "change"),
            "",
        ]
    summaries = [summary(result, sizes, planning) for result in results]
    lines += [
        "## Summary",
        "",
        f"Planning figures (assumptions): {asdict(planning)}",
        "",
        "| figure | " + " | ".join(r.design.name for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    for key in summaries[0]:
        lines.append(f"| {key} | " + " | ".join(_n(s[key]) for s in summaries) + " |")
    return "\n".join(lines) + "\n"


def run(config: Config) -> tuple[Graph, OplogSizes, list[Result]]:
    graph = generate_graph(config)
    sizes = measure_oplog_sizes(config.text_chars)
    return graph, sizes, [model(config, graph, sizes, design) for design in DESIGNS]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="microblog capacity model (issue 7, item 9)")
    defaults = Config()
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument("--readers", type=int, default=defaults.readers)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--posts-per-second", type=float, default=defaults.posts_per_second)
    parser.add_argument("--reads-per-second", type=float, default=defaults.reads_per_second)
    parser.add_argument("--threshold", type=int, default=defaults.threshold)
    parser.add_argument("--json", action="store_true", help="JSON instead of Markdown")
    args = parser.parse_args(argv)
    config = replace(
        defaults,
        users=args.users,
        readers=args.readers,
        seed=args.seed,
        posts_per_second=args.posts_per_second,
        reads_per_second=args.reads_per_second,
        threshold=args.threshold,
    )
    graph, sizes, results = run(config)
    if args.json:
        payload = {
            "config": asdict(config),
            "oplog_entry_bytes": sizes.sizes,
            "designs": {
                result.design.name: {
                    "summary": summary(result, sizes, config.planning),
                    "calls": {row.name: asdict(row.total) for row in result.calls},
                    "changes": {row.name: asdict(row.total) for row in result.changes},
                }
                for result in results
            },
        }
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(report(config, graph, sizes, results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
