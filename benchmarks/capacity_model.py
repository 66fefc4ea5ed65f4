"""Capacity model: MongoDB work per second for microblog at Twitter-like load (issue 7, item 9).

A deterministic simulation (seeded `random`, plain Python) over a generated power-law follow graph.
It counts, per API call type and per change type the projector handles, the MongoDB round trips,
documents read and written, index keys counted by the projector's recounts, and estimated oplog
bytes, for two designs:

- `full`: the code before hybrid fan-out: every post is fanned out to every follower; a timeline
  page is one query on `timeline_entries` plus one hydration of `post_views`; never trimmed.
- `hybrid`: hybrid fan-out as built (issue 7, item 2; `read_models/timelines.py`): authors with at
  least `--threshold` followers are not fanned out, their followers merge their posts at read
  time in the page's one `post_views` query (the model charges those readers 3 round trips, what
  a later page takes; a first page takes 2); the author's timeline head says which path a post
  or a follow takes, and every follow change costs the threshold decision (2 reads). With the
  cap, timelines are trimmed to TIMELINE_MAX_ENTRIES on 1 in TRIM_EVERY deliveries and after each
  follow's backfill. Crossings of the threshold are rare and not modelled.

Every per-operation count cites the code path it comes from (file:function). Oplog sizes are
`bson.encode` of oplog entries built around the project's real document shapes.

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
BATCH_SIZE = 200  # service_kit/settings.py: projector_batch_size
FANOUT_CHUNK = 1000  # service_kit/settings.py: projector_fanout_chunk
BACKFILL_LIMIT = 200  # service_kit/settings.py: projector_backfill_limit
PAGE_LIMIT = 20  # query_service/api/dependencies.py: page_request default limit
TIMELINE_MAX_ENTRIES = 800  # service_kit/settings.py: timeline_max_entries
# timelines.py:trim_due: a delivery trims its owner on 1 in max(1, C // 2) deliveries
TRIM_EVERY = max(1, TIMELINE_MAX_ENTRIES // 2)
FIRST_BATCH = 101  # MongoDB's default first cursor batch (documents)
GETMORE_BYTES = 16 * 1024 * 1024  # a getMore batch holds up to 16 MiB


@dataclass(frozen=True)
class Ratios:
    """Twitter-like call mix: write calls per post, read calls per timeline page. Assumptions."""

    sign_up: float = 0.002  # ~9 accounts/s at 4.6k posts/s
    sign_in: float = 0.2
    user_update: float = 0.005  # only a password rehash on sign-in updates a user today
    reply: float = 0.3  # share of posts that are replies (one more lookup, a parent recount)
    delete: float = 0.02
    follow: float = 0.2
    unfollow: float = 0.05
    user_page: float = 0.1
    user_posts: float = 0.1
    single_post: float = 0.2


@dataclass(frozen=True)
class Config:
    users: int = 1_000_000  # accounts in the generated graph (a uniform sample of the population)
    seed: int = 7
    posts_per_second: float = 4_600.0
    reads_per_second: float = 300_000.0  # timeline pages
    threshold: int = 10_000  # FANOUT_MAX_FOLLOWERS
    target_deliveries: float = 75.0  # mean followers reached per post
    readers: int = 20_000  # readers whose followings are drawn from the graph (read side)
    follower_alpha: float = 1.2  # Pareto II tail index of follower counts
    following_alpha: float = 1.5  # Pareto II tail index of following counts
    max_followers: int = 100_000_000
    max_following: int = 5_000
    posts_per_author: int = 1_000  # posts an author has in post_views (the recounts count them)
    text_chars: int = 70  # mean post length
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


def measure_oplog_sizes(text_chars: int) -> OplogSizes:
    """Representative documents shaped exactly like the code writes them."""
    user_id, post_id, other = ObjectId(), ObjectId(), ObjectId()
    uid, pid, oid = str(user_id), str(post_id), str(other)
    text = "x" * text_chars
    # service_kit/write_model.py: UserDocument, PostDocument, FollowDocument, PostSequence
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
        "author_seq": 1234,
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
    # query_service/read_models/*.py: UserView, PostView, FollowEdge, TimelineEntry
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
        "reply_to": None,
        "text": text,
    }
    edge = {
        "_id": f"{oid}:{uid}",
        "created_at": NOW,
        "followee_id": uid,
        "followee_post_seq": 1234,
        "follower_id": oid,
    }
    entry = {
        "_id": f"{oid}:{pid}",
        "author_id": uid,
        "created_at": NOW,
        "owner_id": oid,
        "post_id": pid,
    }
    token = {"_data": "8" + "2" * 161}  # a resume token's `_data` (hex KeyString) on MongoDB 8
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
        "user_views.insert": _oplog_entry("i", "user_views", user_view),
        "user_views.recount": _oplog_entry(
            "u", "user_views", _diff({"followers_count": 76}), o2={"_id": uid}
        ),
        "post_views.insert": _oplog_entry("i", "post_views", post_view),
        "post_views.delete": _oplog_entry("d", "post_views", {"_id": pid}),
        "post_views.reply_count": _oplog_entry(
            "u", "post_views", _diff({"reply_count": 3}), o2={"_id": pid}
        ),
        "follow_edges.insert": _oplog_entry("i", "follow_edges", edge),
        "follow_edges.delete": _oplog_entry("d", "follow_edges", {"_id": edge["_id"]}),
        "timeline_entries.insert": _oplog_entry("i", "timeline_entries", entry),
        # delete_many is not a retryable write
        "timeline_entries.delete": _oplog_entry(
            "d", "timeline_entries", {"_id": entry["_id"]}, retryable=False
        ),
        "projector_checkpoints.update": _oplog_entry(
            "u",
            "projector_checkpoints",
            _diff({"resume_token": token, "updated_at": NOW, "cluster_time": Timestamp(1, 1)}),
            o2={"_id": "read-models"},
        ),
    }
    by_kind = {key: len(value) for key, value in sizes.items()}
    # Read-side document sizes, for the cursor batch arithmetic.
    by_kind["doc.follow_edge_projected"] = len(
        bson.encode({"_id": edge["_id"], "follower_id": oid})
    )
    by_kind["doc.post_view"] = len(bson.encode(post_view))
    by_kind["doc.timeline_entry"] = len(bson.encode(entry))
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

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.round_trips + other.round_trips,
            self.docs_read + other.docs_read,
            self.docs_written + other.docs_written,
            self.keys_counted + other.keys_counted,
            self.oplog_bytes + other.oplog_bytes,
        )

    def scaled(self, factor: float) -> Cost:
        return Cost(
            self.round_trips * factor,
            self.docs_read * factor,
            self.docs_written * factor,
            self.keys_counted * factor,
            self.oplog_bytes * factor,
        )


def rt(n: float = 1.0, read: float = 0.0) -> Cost:
    return Cost(round_trips=n, docs_read=read)


def write(sizes: OplogSizes, kind: str, n: float = 1.0, round_trips: float = 1.0) -> Cost:
    return Cost(round_trips=round_trips, docs_written=n, oplog_bytes=n * sizes[kind])


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


@dataclass(frozen=True)
class Design:
    name: str
    hybrid: bool  # authors at or above the threshold are merged at read time
    cap: bool  # timelines capped at TIMELINE_MAX_ENTRIES and trimmed
    counters: bool  # O(1) counters (issue 7, item 3) instead of count_documents recounts


DESIGNS = (
    Design("full fan-out (before hybrid fan-out)", hybrid=False, cap=False, counters=False),
    Design("hybrid fan-out", hybrid=True, cap=False, counters=False),
    Design("hybrid fan-out + cap", hybrid=True, cap=True, counters=False),
    Design("hybrid fan-out + cap + O(1) counters", hybrid=True, cap=True, counters=True),
)


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


def model(config: Config, graph: Graph, sizes: OplogSizes, design: Design) -> Result:
    r = config.ratios
    posts, reads = config.posts_per_second, config.reads_per_second
    threshold = config.threshold
    authors = distribution(graph.followers)  # authors post uniformly
    # followees are chosen in proportion to their follower counts (preferential attachment)
    followees = distribution(graph.followers, [float(d) for d in graph.followers])
    mean_following = sum(graph.following) / len(graph.following)
    posts_per_author = config.posts_per_author

    def is_high(d: int) -> bool:
        return design.hybrid and d >= threshold

    def delivered(d: int) -> int:
        return 0 if is_high(d) else d

    def backfilled(d: int) -> int:  # posts a follow copies (timelines.py:backfill); an upper bound
        return 0 if is_high(d) else BACKFILL_LIMIT

    deliveries = expectation(authors, lambda d: Cost(docs_written=delivered(d))).docs_written
    backfill = expectation(followees, lambda d: Cost(docs_written=backfilled(d))).docs_written
    written = posts * (1 + deliveries) + posts * r.follow * backfill
    removed = posts * r.delete * (1 + deliveries) + posts * r.unfollow * backfill
    # With the cap, a full timeline loses its oldest entry for every new one: at steady state
    # the trims make up whatever the deletes and unfollows did not remove.
    trim_share = max(0.0, 1.0 - removed / written) if design.cap else 0.0

    def user_recount(followers: float, following: float, authored: float, changed: int) -> Cost:
        """users.py:UsersProjection.finish_batch, per stale user: three count_documents
        (followers, following, posts: O(count) index keys each) and one update_one; with O(1)
        counters, one `$inc` update per changed counter instead."""
        if design.counters:
            return write(sizes, "user_views.recount", changed, round_trips=changed)
        counted = Cost(round_trips=3, keys_counted=followers + following + authored)
        if changed:
            return counted + write(sizes, "user_views.recount")
        return counted + rt(1)  # the update_one runs and changes nothing: no oplog entry

    def post_recount(changed: bool) -> Cost:
        """posts.py:PostsProjection.finish_batch, per stale post: count_documents on replies and
        update_one (a no-op write when the count did not change)."""
        if design.counters:
            return write(sizes, "post_views.reply_count") if changed else Cost()
        return rt(1) + (write(sizes, "post_views.reply_count") if changed else rt(1))

    # runner.py:_apply_next_batch: per full batch of BATCH_SIZE changes, one getMore on the
    # change stream and one checkpoints.py:save_checkpoint.
    per_batch = (rt(1) + write(sizes, "projector_checkpoints.update")).scaled(1.0 / BATCH_SIZE)

    def entries(kind: str, n: float) -> Cost:
        """Timeline entries in bulk_write chunks of FANOUT_CHUNK (timelines.py)."""
        return write(sizes, f"timeline_entries.{kind}", n, round_trips=math.ceil(n / FANOUT_CHUNK))

    def trims(n: float) -> Cost:
        """timelines.py:trim, on 1 in TRIM_EVERY deliveries: a skip query over the owner's newest
        entries, then one delete_many of those beyond the cap (a full timeline at steady state)."""
        if not design.cap:
            return Cost()
        trimmed = n / TRIM_EVERY
        return rt(trimmed, trimmed) + write(
            sizes, "timeline_entries.delete", n * trim_share, round_trips=trimmed
        )

    def reconcile() -> Cost:
        """timelines.py:reconcile_fanout, per followee whose followers changed in a batch: its
        exact follower count (user_views) and its head (timeline_entries); the crossings of the
        threshold themselves are rare and not modelled."""
        return rt(2, 2) if design.hybrid else Cost()

    def user_change(insert: bool) -> Cost:
        # users.py:_project_user upsert (a no-op on a rehash, whose fields it does not project);
        # posts.py:_refresh_author update_many over the author's post_views (none for a new
        # user; on an update it examines all of them and writes none when the name is unchanged)
        project = write(sizes, "user_views.insert") if insert else rt(1)
        lookup = Cost() if insert else Cost(docs_read=1)  # updateLookup on an update event
        refresh = rt(1, 0 if insert else posts_per_author)
        recount = user_recount(0, 0, 0, 0) if insert else user_recount(75, 75, posts_per_author, 0)
        return lookup + project + refresh + recount + per_batch

    def post_insert(d: int, reply: bool) -> Cost:
        # users.py:apply takes the author from fullDocument (no round trip); posts.py:_upsert:
        # _author_summary find_one + update_one upsert; timelines.py:deliver_post
        cost = rt(1, 1) + write(sizes, "post_views.insert")
        if design.hybrid:
            cost = cost + rt(1, 1)  # timelines.py:is_large: the author's head decides the path
        if not is_high(d):  # timelines.py:_timeline_owners: follow_edges find by followee_id
            edge_bytes = sizes["doc.follow_edge_projected"]
            cost = cost + Cost(round_trips=cursor_round_trips(d, edge_bytes), docs_read=d)
        owners = 1 + delivered(d)
        cost = cost + entries("insert", owners) + trims(owners)
        # finish_batch: the author's counts (O(followers)); the post's own reply count
        # (unchanged); for a reply, the parent's reply count
        cost = cost + user_recount(d, mean_following, posts_per_author, 1) + post_recount(False)
        if reply:
            cost = cost + post_recount(True)
            if design.hybrid:  # timelines.py:_reply_audience: two counts, one check a chunk
                cost = cost + rt(1, 2) + rt(math.ceil(max(1, delivered(d)) / FANOUT_CHUNK))
        return cost + per_batch

    def post_tombstone(d: int) -> Cost:
        # update event: updateLookup reads the post; users.py:_author_of from fullDocument;
        # posts.py:_remove find_one_and_delete; timelines.py:remove_post delete_many by post_id
        # (the entries of a recent post are assumed to be still within the cap)
        owners = 1 + delivered(d)
        cost = Cost(docs_read=1) + write(sizes, "post_views.delete")
        cost = cost + write(sizes, "timeline_entries.delete", owners)
        cost = cost + user_recount(d, mean_following, posts_per_author, 1)
        return cost + post_recount(True).scaled(r.reply) + per_batch  # a deleted reply's parent

    def follow_change(d: int, insert: bool) -> Cost:
        # users.py: two stale users; follows.py:apply upsert or delete_one of the edge;
        # timelines.py:backfill (post_views find + bulk upserts) or remove_author (delete_many)
        copied = backfilled(d)
        if insert:
            post_bytes = sizes["doc.post_view"]
            cost = write(sizes, "follow_edges.insert")
            if design.hybrid:
                cost = cost + rt(1, 1)  # timelines.py:is_large: the followee's head
            if is_high(d):
                cost = cost + write(sizes, "timeline_entries.insert")  # the follower's head
            else:
                cost = cost + Cost(
                    round_trips=cursor_round_trips(copied, post_bytes), docs_read=copied
                )
            if copied:
                cost = cost + entries("insert", copied)
            if design.hybrid:  # timelines.py:_replies_to: the follower's followees, their replies
                cost = cost + rt(1, mean_following) + rt(1, 1)
            if copied and design.cap:  # timelines.py:follow_in trims the follower after a backfill
                cost = (
                    cost + rt(1, 1) + write(sizes, "timeline_entries.delete", copied * trim_share)
                )
        else:
            cost = write(sizes, "follow_edges.delete")
            cost = cost + write(sizes, "timeline_entries.delete", copied)
        # the followee (d followers) and the follower (a typical account)
        followee = user_recount(d, mean_following, posts_per_author, 1)
        follower = user_recount(75, mean_following, posts_per_author, 1)
        return cost + followee + follower + reconcile() + per_batch

    # ---- API calls: command_service/commands/*.py ----------------------------------------------
    sign_up = rt(1) + write(sizes, "users.insert")  # find_user_by_handle (none) + insert_user
    sign_in = rt(1, 1)  # find_user_by_handle
    rehash = rt(1, 1) + write(sizes, "users.rehash")  # + replace_password_hash
    # posts.py:insert_post: post_sequences find_one_and_update $inc, then insert_one
    post_call = write(sizes, "post_sequences.inc") + write(sizes, "posts.insert")
    reply_call = rt(1, 1) + post_call  # find_live_post(reply_to) first
    delete_call = rt(1, 1) + write(sizes, "posts.tombstone")  # find_live_post + update_one
    # follows.py:follow: find_user_by_handle + last_post_number + upsert_follow
    follow_call = rt(2, 2) + write(sizes, "follows.insert")
    unfollow_call = rt(1, 1) + write(sizes, "follows.delete")  # find_user_by_handle + delete_one
    # ---- query_service/read_models/*.py ---------------------------------------------------------
    page = PAGE_LIMIT + 1  # pagination.py:page_of asks for one more than the limit
    timeline = rt(1, page) + rt(1, PAGE_LIMIT)  # timelines.py:home_timeline + posts_in_order
    merged_readers = [n for n in graph.high_followees if n > 0] if design.hybrid else []
    merged_share = len(merged_readers) / max(1, len(graph.high_followees))
    mean_in = sum(merged_readers) / len(merged_readers) if merged_readers else 0.0
    # timelines.py:home_timeline, a later page: + the reader's head (a first page gets it with its
    # entries, and its hydration query merges the large accounts' posts: 2)
    merged_timeline = timeline + rt(1, 1)
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
        Row(
            "timeline page",
            "timelines.py:home_timeline",
            reads * (1 - merged_share),
            timeline,
            READ_MODELS,
        ),
        Row(
            "timeline page, merged",
            "timelines.py:home_timeline",
            reads * merged_share,
            merged_timeline,
            READ_MODELS,
        ),
        Row("user page", "users.py:user_by_handle", reads * r.user_page, rt(1, 1), READ_MODELS),
        Row(
            "user posts",
            "users.py:user_by_handle, posts.py:posts_by_author",
            reads * r.user_posts,
            rt(1, 1) + rt(1, page),
            READ_MODELS,
        ),
        Row("single post", "posts.py:post_by_id", reads * r.single_post, rt(1, 1), READ_MODELS),
    ]
    changes = [
        Row(
            "user insert",
            "users.py:_project_user, posts.py:_refresh_author, finish_batch",
            posts * r.sign_up,
            user_change(True),
            PROJECTOR,
        ),
        Row(
            "user update",
            "users.py:_project_user, posts.py:_refresh_author, finish_batch",
            posts * r.user_update,
            user_change(False),
            PROJECTOR,
        ),
        Row(
            "post insert",
            "posts.py:_upsert, timelines.py:deliver_post, finish_batch",
            posts,
            expectation(authors, lambda d: post_insert(d, False)).scaled(1 - r.reply)
            + expectation(authors, lambda d: post_insert(d, True)).scaled(r.reply),
            PROJECTOR,
        ),
        Row(
            "post tombstone",
            "posts.py:_remove, timelines.py:remove_post, finish_batch",
            posts * r.delete,
            expectation(authors, post_tombstone),
            PROJECTOR,
        ),
        Row(
            "follow insert",
            "follows.py:apply, timelines.py:backfill, finish_batch",
            posts * r.follow,
            expectation(followees, lambda d: follow_change(d, True)),
            PROJECTOR,
        ),
        Row(
            "follow delete",
            "follows.py:apply, timelines.py:remove_author, finish_batch",
            posts * r.unfollow,
            expectation(followees, lambda d: follow_change(d, False)),
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
    return {
        "deliveries per post": result.deliveries_per_post,
        "timeline entries written/s": result.timeline_entries_written_per_second,
        "timeline entries deleted/s": result.timeline_entries_deleted_per_second,
        "timeline_entries growth GB/day (documents only)": growth
        * sizes["doc.timeline_entry"]
        * 86_400
        / 1e9,
        "timeline pages that merge (share)": result.merged_read_share,
        "authors in the $in (mean, merged pages)": result.mean_in_authors,
        "command service round trips/s": command.round_trips,
        "write model documents written/s": command.docs_written,
        "write model oplog GB/hour": write_gb_h,
        "projector round trips/s": projector.round_trips,
        "projector documents written/s": projector.docs_written,
        "projector recount index keys/s": projector.keys_counted,
        "read models oplog GB/hour": read_gb_h,
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
        f"- mean followers = deliveries per post with full fan-out: "
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
