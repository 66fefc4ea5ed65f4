"""The capacity model (benchmarks/capacity_model.py) on a tiny graph: invariants that a broken
model would violate. Fast: a few thousand accounts."""

import json
import math
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId

from benchmarks import capacity_model as cm
from command_service.commands import follows, posts, reactions
from query_service.projector import rebuild
from query_service.projector.projection import ProjectionContext, ProjectionSettings
from query_service.read_models.names import (
    FOLLOW_EDGES,
    POST_REACTIONS,
    POST_VIEWS,
    TIMELINE_ENTRIES,
    USER_VIEWS,
)
from query_service.read_models.registry import projections_of
from query_service.read_models.timeline_entries import HEAD_AT, head_id
from service_kit.mongo import Database
from service_kit.mongo.embedded.operations import OperationCount, counting_operations
from service_kit.tokens import Principal
from service_kit.write_model import FOLLOWS, LIKES, POSTS, REPOSTS, USERS
from tests.support import make_settings, running_stack

TINY = cm.Config(users=4_000, readers=300, seed=11)


@pytest.fixture(scope="module")
def tiny() -> tuple[cm.Graph, cm.OplogSizes, list[cm.Result]]:
    return cm.run(TINY)


def by_name(results: list[cm.Result]) -> dict[str, cm.Result]:
    return {result.design.name: result for result in results}


def row(rows: list[cm.Row], name: str) -> cm.Row:
    return next(r for r in rows if r.name == name)


def test_deliveries_per_post_are_calibrated(tiny) -> None:
    graph, sizes, results = tiny
    # With full fan-out a post reaches every follower; a reply, those who follow both (fewer).
    no_replies = replace(TINY, ratios=replace(TINY.ratios, reply=0.0))
    full = cm.model(no_replies, graph, sizes, cm.DESIGNS[0])
    assert full.deliveries_per_post == pytest.approx(TINY.target_deliveries, rel=1e-3)
    assert by_name(results)["full fan-out"].deliveries_per_post < full.deliveries_per_post
    # A repost reaches its reposter's followers, replies or not; large reposters are merged.
    full_fan_out, *hybrids = results
    assert full_fan_out.deliveries_per_repost == pytest.approx(TINY.target_deliveries, rel=1e-3)
    assert all(h.deliveries_per_repost < full_fan_out.deliveries_per_repost for h in hybrids)
    assert sum(graph.followers) / len(graph.followers) == pytest.approx(75, rel=1e-3)
    assert max(graph.followers) <= TINY.max_followers
    assert max(graph.following) <= TINY.max_following


def test_hybrid_never_writes_more_timeline_entries_than_full_fan_out(tiny) -> None:
    _, sizes, results = tiny
    full, *hybrids = results
    for hybrid in hybrids:
        assert hybrid.deliveries_per_post <= full.deliveries_per_post
        written = hybrid.timeline_entries_written_per_second
        assert written <= full.timeline_entries_written_per_second
    # Account by account, on either side of the threshold.
    for followers in (0, 5, TINY.threshold - 1, TINY.threshold, 2_000_000):
        graph = degenerate(followers)
        by_design = [cm.model(TINY, graph, sizes, design) for design in cm.DESIGNS]
        entries = [result.timeline_entries_written_per_second for result in by_design]
        assert all(hybrid <= entries[0] for hybrid in entries[1:])
        if followers < TINY.threshold:
            assert entries[1] == entries[0]
        else:  # only replies to others are fanned out (the reply rule), posts are merged
            replies = TINY.ratios.reply * TINY.reply_overlap * followers
            assert by_design[1].deliveries_per_post == pytest.approx(replies)


def test_a_threshold_above_every_account_is_full_fan_out() -> None:
    config = replace(TINY, threshold=10**12)
    _, _, results = cm.run(config)
    full, hybrid = results[0], results[1]
    assert hybrid.deliveries_per_post == full.deliveries_per_post
    assert hybrid.merged_read_share == 0
    assert hybrid.timeline_entries_written_per_second == full.timeline_entries_written_per_second


def test_a_lower_threshold_merges_more_and_delivers_less() -> None:
    _, _, high = cm.run(replace(TINY, threshold=5_000))
    _, _, low = cm.run(replace(TINY, threshold=500))
    assert low[1].deliveries_per_post < high[1].deliveries_per_post
    assert low[1].merged_read_share >= high[1].merged_read_share


def test_totals_equal_the_sum_of_their_parts(tiny) -> None:
    _, sizes, results = tiny
    for result in results:
        sides = cm.side_totals(result)
        rows = result.calls + result.changes
        for field in ("round_trips", "docs_read", "docs_written", "keys_counted", "oplog_bytes"):
            parts = sum(getattr(r.per_call, field) * r.per_second for r in rows)
            assert sum(getattr(c, field) for c in sides.values()) == pytest.approx(parts)
        figures = cm.summary(result, sizes, TINY.planning)
        command = sides[cm.WRITE_MODEL]
        assert figures["write model oplog GB/hour"] == pytest.approx(
            command.oplog_bytes * 3600 / 1e9
        )
        assert figures[
            "oplog entries/s the change stream scans, shared replica set"
        ] == pytest.approx(command.docs_written + sides[cm.PROJECTOR].docs_written)


def test_the_cap_bounds_storage_and_counters_end_the_recounts(tiny) -> None:
    _, _, results = tiny
    designs = by_name(results)
    capped = designs["hybrid fan-out + cap (the code)"]
    assert capped.timeline_entries_deleted_per_second == pytest.approx(
        capped.timeline_entries_written_per_second
    )
    uncapped = designs["hybrid fan-out"]
    assert (
        uncapped.timeline_entries_deleted_per_second < uncapped.timeline_entries_written_per_second
    )
    counters = cm.side_totals(capped)[cm.PROJECTOR]
    recounts = cm.side_totals(designs["hybrid fan-out + cap, recounts"])[cm.PROJECTOR]
    # With O(1) counters nothing is recounted any more, the hashtag buckets included.
    assert counters.keys_counted == 0
    assert counters.keys_counted < recounts.keys_counted
    assert counters.round_trips < recounts.round_trips


def test_round_trips_follow_the_code_paths(tiny) -> None:
    _, _, results = tiny
    full, hybrid, code = results[0], results[1], by_name(results)[cm.CODE.name]
    # commands/posts.py:create_post -> post_sequences $inc + insert_one (+ find_live_post and
    # the block check of a reply)
    assert row(full.calls, "post").per_call.round_trips == 2
    assert row(full.calls, "reply").per_call.round_trips == 4
    # commands/follows.py:follow -> find_user_by_handle + blocks_between + last_post_number +
    # upsert_follow + blocks_between again
    assert row(full.calls, "follow").per_call.round_trips == 5
    # commands/reactions.py:repost -> find_live_post + is_blocked_by + reposted already? +
    # next_post_number + upsert
    assert row(full.calls, "repost").per_call.round_trips == 5
    # entries + hydration + the reposters' names + the reader's likes lookup; a later page
    # looks up the newer entries of its reposted posts
    assert row(full.calls, "timeline page").per_call.round_trips == 4
    assert row(full.calls, "timeline page, later").per_call.round_trips == 5
    # + the large accounts' reposts and the blocks with their authors; a later page also their
    # newer reposts (the head comes with the entries on every page)
    assert row(hybrid.calls, "timeline page, merged").per_call.round_trips == 6
    assert row(hybrid.calls, "timeline page, merged, later").per_call.round_trips == 8
    # a post insert: author summary + the view before + upsert + the author's count + the
    # author's head + edge scan + at least one bulk write
    assert row(code.changes, "post insert").per_call.round_trips >= 7
    # a like: the post is live (twice) + the like before + the count + upsert + blocks + notify
    assert row(code.changes, "like insert").per_call.round_trips == 7 + PER_BATCH
    # a repost: a like's + the post's author + the reposter's head + its followers (unless
    # large) + one block lookup and one bulk per chunk of owners
    assert row(code.changes, "repost insert").per_call.round_trips >= 11 + PER_BATCH
    assert row(code.changes, "repost delete").per_call.round_trips == pytest.approx(5 + PER_BATCH)


def test_a_post_views_counter_carries_the_marks_its_counted_changes_pushed() -> None:
    sizes = cm.measure_oplog_sizes(TINY.text_chars)
    per_mark = sizes["marks"] / cm.MARKS_KEPT

    def like_marks(graph: cm.Graph) -> float:
        result = cm.model(TINY, graph, sizes, cm.CODE)
        return row(result.changes, "like insert").per_call.marks_bytes / per_mark

    # Nobody reads a post of an account without followers: no likes, no marks.
    assert like_marks(degenerate(0)) == 0
    # A post of a typical account gets a few counted changes: about half of them on average.
    ratios = TINY.ratios
    engagement = ratios.like + ratios.repost + ratios.reply
    assert like_marks(degenerate(75)) == pytest.approx((engagement + 1) / 2)
    # Next to a star, whose posts get thousands (and nearly all the likes), most counter updates
    # carry nearly full arrays, never more than MARKS_KEPT.
    star = cm.Graph([75] * 999 + [10_000_000], [75] * 1000, 1.0, [0])
    assert cm.MARKS_KEPT * 0.8 < like_marks(star) < cm.MARKS_KEPT


def test_cursor_round_trips() -> None:
    assert cm.cursor_round_trips(0, 100) == 1
    assert cm.cursor_round_trips(100, 100) == 1
    assert cm.cursor_round_trips(101, 100) == 2
    per_getmore = cm.GETMORE_BYTES // 100
    assert cm.cursor_round_trips(101 + per_getmore, 100) == 3


def test_oplog_sizes_come_from_the_document_shapes() -> None:
    short, long = cm.measure_oplog_sizes(10), cm.measure_oplog_sizes(110)
    assert long["posts.insert"] - short["posts.insert"] == 100
    # a view holds the text and its search terms
    assert long["post_views.insert"] - short["post_views.insert"] > 100
    assert short["user_views.counter"] - short["user_views.recount"] == short["marks"] > 8_000
    assert short["timeline_entries.delete"] < short["timeline_entries.insert"]
    assert all(size > 0 for size in short.sizes.values())


def test_the_script_is_deterministic_and_prints_markdown_and_json(capsys) -> None:
    arguments = ["--users", "2000", "--readers", "100", "--seed", "5"]
    assert cm.main(arguments) == 0
    first = capsys.readouterr().out
    cm.main(arguments)
    assert capsys.readouterr().out == first
    assert "| **total** |" in first
    assert "## hybrid fan-out" in first
    cm.main([*arguments, "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert len(payload["designs"]) == len(cm.DESIGNS)
    summary = payload["designs"]["full fan-out"]["summary"]
    config = replace(TINY, users=2000, readers=100, seed=5)
    expected = cm.run(config)[2][0].deliveries_per_post
    assert math.isclose(summary["deliveries per post"], expected, rel_tol=1e-9)


# ---- the model's round trips against the code's: count what the code issues on the store ---------
#
# The model's per-change and per-call round trips for the design the code is (`cm.CODE`, on a
# graph where every account has the same followers) must equal what the code does, counted from
# the embedded store's operation log. The store shows no getMores: the tests add those the model
# charges for cursors past the first batch. Where the model assumes a steady state (full
# timelines, so every trim deletes; a follower who follows others), the tests set it up.


def take(counted: OperationCount) -> int:
    """The round trips the data-access layer recorded since the last take."""
    trips = counted.round_trips
    counted.operations.clear()
    return trips


def degenerate(followers: int, following: int = 75) -> cm.Graph:
    """A graph where every account has `followers` followers: the model's expectation is then
    the cost of exactly one such account (replying to one such account)."""
    return cm.Graph([followers], [following], 1.0, [0])


def model_round_trips(kind: str, name: str, followers: int, **config: Any) -> float:
    reply = config.pop("reply", 0.0)
    repost = config.pop("repost", TINY.ratios.repost)
    settings = replace(TINY, ratios=replace(TINY.ratios, reply=reply, repost=repost), **config)
    sizes = cm.measure_oplog_sizes(settings.text_chars)
    result = cm.model(settings, degenerate(followers), sizes, cm.CODE)
    return row(getattr(result, kind), name).per_call.round_trips


PER_BATCH = 2 / cm.BATCH_SIZE  # the stream's getMore and the checkpoint, shared by a full batch
SIZES = cm.measure_oplog_sizes(TINY.text_chars)


async def apply_counted(
    database: Database,
    settings: Any,
    change: dict[str, Any],
    *,
    max_entries: int | None = None,
    threshold: int | None = None,
) -> int:
    context = ProjectionContext(
        database,
        ProjectionSettings(
            settings.projector_backfill_limit,
            cm.FANOUT_CHUNK,
            threshold or settings.fanout_max_followers,
            max_entries or settings.timeline_max_entries,
        ),
    )
    with counting_operations() as counted:
        for projection in projections_of(change["ns"]["coll"]):
            await projection.apply(context, change)
        await rebuild.finish_batch(context)
    return counted.round_trips


async def fill_timelines(database: Database, owners: list[str], n: int) -> None:
    """Older entries, so that the timelines are full and every trim deletes (the steady state)."""
    older = cm.NOW - timedelta(days=1)
    await database[TIMELINE_ENTRIES].insert_many(
        [
            {
                "_id": f"{owner}:old{ObjectId()}",
                "owner_id": owner,
                "post_id": str(ObjectId()),
                "author_id": "someone",
                "created_at": older,
                "replied_to": None,
            }
            for owner in owners
            for _ in range(n)
        ]
    )


def edges(followers: int, followee: str) -> list[dict[str, Any]]:
    return [
        {
            "_id": f"{i}:{followee}",
            "follower_id": str(i),
            "followee_id": followee,
            "followee_post_seq": 0,
            "created_at": cm.NOW,
        }
        for i in range(followers)
    ]


def post_change(name: str, post: dict[str, Any], operation: str = "insert") -> dict[str, Any]:
    return {
        "_id": {"_data": name},
        "operationType": operation,
        "ns": {"db": "microblog", "coll": POSTS},
        "documentKey": {"_id": post["_id"]},
        "fullDocument": post,
    }


@pytest.mark.embedded_only
@pytest.mark.parametrize(("followers", "threshold"), [(5, 10_000), (150, 10_000), (150, 100)])
async def test_posts_and_replies_cost_what_the_model_says(
    stack, followers: int, threshold: int, monkeypatch
) -> None:
    # Small bulk chunks, so that chunking is exercised on a graph the embedded store handles fast;
    # a cap of 2 trims on every delivery (trim_due), so the hashed trims are all counted.
    monkeypatch.setattr(cm, "FANOUT_CHUNK", 20)
    cap, large = 2, followers >= threshold
    model = {"max_entries": cap, "threshold": threshold, "hashtags_per_post": 1.0}
    database = stack.database
    author, replied = str(ObjectId()), str(ObjectId())
    owners = [author, *(str(i) for i in range(followers))]
    # The author and the account replied to have the same followers (the reply reaches them all:
    # the model's reply_overlap of 1), and their views say how many.
    await database[FOLLOW_EDGES].insert_many(edges(followers, author) + edges(followers, replied))
    await database[USER_VIEWS].insert_many(
        [
            {
                "_id": account,
                "handle": account,
                "handle_lower": account,
                "display_name": "",
                "followers_count": followers,
            }
            for account in (author, replied)
        ]
    )
    if large:  # decided in an earlier batch (timelines.py:reconcile_fanout)
        await database[TIMELINE_ENTRIES].insert_one(
            {"_id": head_id(author), "owner_id": author, "created_at": HEAD_AT, "large": True}
        )
    post = {
        "_id": ObjectId(),
        "author_id": ObjectId(author),
        "text": "hello #hello",
        "reply_to": None,
        "reply_to_author_id": None,
        "author_seq": 1,
        "hashtags": ["hello"],  # stored with every post (a tombstone keeps them)
        "mentions": [],
        "mention_ids": [],
        "created_at": cm.NOW,
        "deleted_at": None,
    }
    edge_bytes = SIZES["doc.follow_edge_projected"]
    getmores = cm.cursor_round_trips(followers, edge_bytes) - 1

    await fill_timelines(database, owners, cap)
    counted = await apply_counted(
        database, stack.settings, post_change("post", post), max_entries=cap, threshold=threshold
    )
    read = 0 if large else getmores
    assert counted + read + PER_BATCH == pytest.approx(
        model_round_trips("changes", "post insert", followers, **model)
    )
    assert await database[TIMELINE_ENTRIES].count_documents({"post_id": str(post["_id"])}) == (
        1 if large else 1 + followers
    )

    tombstone = post_change("tombstone", {**post, "text": "", "deleted_at": cm.NOW}, "update")
    counted = await apply_counted(database, stack.settings, tombstone, max_entries=cap)
    assert counted + PER_BATCH == pytest.approx(
        model_round_trips("changes", "post tombstone", followers, **model)
    )

    # A reply to someone else is fanned out, large author or not, to the followers of both.
    reply = {
        **post,
        "_id": ObjectId(),
        "text": "re #hello",
        "reply_to": ObjectId(),
        "reply_to_author_id": ObjectId(replied),
        "author_seq": 2,
    }
    await fill_timelines(database, owners, cap)
    counted = await apply_counted(
        database, stack.settings, post_change("reply", reply), max_entries=cap, threshold=threshold
    )
    assert counted + getmores + PER_BATCH == pytest.approx(
        model_round_trips("changes", "post insert", followers, reply=1.0, **model)
    )
    assert await database[TIMELINE_ENTRIES].count_documents({"post_id": str(reply["_id"])}) == (
        1 + followers
    )


@pytest.mark.embedded_only
@pytest.mark.parametrize(("followers", "threshold"), [(5, 10_000), (150, 10_000), (150, 100)])
async def test_reposts_cost_what_the_model_says(
    stack, followers: int, threshold: int, monkeypatch
) -> None:
    # As for posts: small bulk chunks, so that chunking (of the bulks and of the block lookups)
    # is exercised, and a cap of 2, so that every delivery trims and the trims are all counted.
    monkeypatch.setattr(cm, "FANOUT_CHUNK", 20)
    cap, large = 2, followers >= threshold
    model = {"max_entries": cap, "threshold": threshold}
    database = stack.database
    reposter, author = ObjectId(), ObjectId()
    owners = [str(reposter), *(str(i) for i in range(followers))]
    await database[FOLLOW_EDGES].insert_many(edges(followers, str(reposter)))
    if large:  # decided in an earlier batch (timelines.py:reconcile_fanout)
        await database[TIMELINE_ENTRIES].insert_one(
            {
                "_id": head_id(str(reposter)),
                "owner_id": str(reposter),
                "created_at": HEAD_AT,
                "large": True,
            }
        )
    post_id = ObjectId()  # someone else's live post
    await database[POST_VIEWS].insert_one(
        {
            "_id": str(post_id),
            "author_id": str(author),
            "author_seq": 1,
            "created_at": cm.NOW - timedelta(hours=1),
        }
    )
    key = {"user": reposter, "post": post_id}
    repost = {
        "_id": {"_data": "repost insert"},
        "operationType": "insert",
        "ns": {"db": "microblog", "coll": REPOSTS},
        "documentKey": {"_id": key},
        "fullDocument": {
            "_id": key,
            "user_id": reposter,
            "post_id": post_id,
            "post_author_id": author,
            "reposter_seq": 1,
            "created_at": cm.NOW,
        },
    }
    getmores = (
        0 if large else cm.cursor_round_trips(followers, SIZES["doc.follow_edge_projected"]) - 1
    )

    await fill_timelines(database, owners, cap)
    counted = await apply_counted(
        database, stack.settings, repost, max_entries=cap, threshold=threshold
    )
    assert counted + getmores + PER_BATCH == pytest.approx(
        model_round_trips("changes", "repost insert", followers, **model)
    )
    brought = {"post_id": str(post_id), "reposted_by": str(reposter)}
    assert await database[TIMELINE_ENTRIES].count_documents(brought) == (
        1 if large else 1 + followers
    )
    assert (await database[POST_VIEWS].find_one({"_id": str(post_id)}) or {})["repost_count"] == 1

    taken_back = {
        **repost,
        "_id": {"_data": "repost delete"},
        "operationType": "delete",
        "fullDocument": None,
    }
    counted = await apply_counted(
        database, stack.settings, taken_back, max_entries=cap, threshold=threshold
    )
    assert counted + PER_BATCH == pytest.approx(
        model_round_trips("changes", "repost delete", followers, **model)
    )
    assert await database[TIMELINE_ENTRIES].count_documents(brought) == 0


@pytest.mark.embedded_only
async def test_follows_reactions_and_users_cost_what_the_model_says(stack) -> None:
    database = stack.database
    follower, followee, other, poster = ObjectId(), ObjectId(), ObjectId(), ObjectId()
    # The followee's window: BACKFILL_LIMIT numbers, which its posts and reposts share in the
    # model's proportion (1 repost per 4 posts here: 160 posts and 40 reposts, every fifth
    # number), every one of them live. The posts it reposted are someone else's, and live.
    reposts_per_post = 0.25
    numbers = range(1, cm.BACKFILL_LIMIT + 1)
    reposted = {n: str(ObjectId()) for n in numbers if n % 5 == 0}
    window_posts = cm.BACKFILL_LIMIT - len(reposted)
    assert window_posts == cm.BACKFILL_LIMIT / (1 + reposts_per_post)
    earlier = cm.NOW - timedelta(hours=1)
    await database[POST_VIEWS].insert_many(
        [
            *(
                {
                    "_id": str(ObjectId()),
                    "author_id": str(followee),
                    "author_seq": n,
                    "created_at": cm.NOW,
                }
                for n in numbers
                if n not in reposted
            ),
            *(
                {"_id": post_id, "author_id": str(poster), "author_seq": n, "created_at": earlier}
                for n, post_id in reposted.items()
            ),
        ]
    )
    await database[POST_REACTIONS].insert_many(
        {
            "_id": f"repost:{followee}:{post_id}",
            "kind": "repost",
            "user_id": str(followee),
            "post_id": post_id,
            "post_author_id": str(poster),
            "created_at": cm.NOW,
            "reposter_seq": n,
        }
        for n, post_id in reposted.items()
    )
    # A typical follower follows others already (the replies to the followee by them come in),
    # and has a full timeline (the trim after the backfill deletes).
    await database[FOLLOW_EDGES].insert_one(
        {
            "_id": f"{follower}:{other}",
            "follower_id": str(follower),
            "followee_id": str(other),
            "followee_post_seq": 0,
            "created_at": cm.NOW,
        }
    )
    await fill_timelines(database, [str(follower)], stack.settings.timeline_max_entries)
    key = {"follower": follower, "followee": followee}
    follow = {
        "_id": key,
        "follower_id": follower,
        "followee_id": followee,
        "followee_post_seq": cm.BACKFILL_LIMIT,
        "created_at": cm.NOW,
    }
    change = {
        "_id": {"_data": "follow insert"},
        "operationType": "insert",
        "ns": {"db": "microblog", "coll": FOLLOWS},
        "documentKey": {"_id": key},
        "fullDocument": follow,
    }
    counted = await apply_counted(database, stack.settings, change)
    backfilled = {"owner_id": str(follower), "author_id": str(followee)}
    reposts_in = {"owner_id": str(follower), "reposted_by": str(followee)}
    assert await database[TIMELINE_ENTRIES].count_documents(backfilled) == window_posts
    assert await database[TIMELINE_ENTRIES].count_documents(reposts_in) == len(reposted)
    assert (
        await database[TIMELINE_ENTRIES].count_documents({"owner_id": str(follower)})
        == stack.settings.timeline_max_entries
    )
    getmores = (
        cm.cursor_round_trips(window_posts, SIZES["doc.post_view_projected"])
        - 1
        + cm.cursor_round_trips(len(reposted), SIZES["doc.post_reaction_projected"])
        - 1
    )
    assert counted + getmores + PER_BATCH == pytest.approx(
        model_round_trips("changes", "follow insert", 100, repost=reposts_per_post)
    )
    unfollow = {
        **change,
        "_id": {"_data": "follow delete"},
        "operationType": "delete",
        "fullDocument": None,
    }
    counted = await apply_counted(database, stack.settings, unfollow)
    assert counted + PER_BATCH == pytest.approx(model_round_trips("changes", "follow delete", 100))
    assert await database[TIMELINE_ENTRIES].count_documents(backfilled) == 0
    assert await database[TIMELINE_ENTRIES].count_documents(reposts_in) == 0

    post_id = next(iter(await database[POST_VIEWS].find({}).to_list(1)))["_id"]
    liked = {"user": follower, "post": ObjectId(post_id)}
    like = {
        "_id": {"_data": "like insert"},
        "operationType": "insert",
        "ns": {"db": "microblog", "coll": LIKES},
        "documentKey": {"_id": liked},
        "fullDocument": {
            "_id": liked,
            "user_id": follower,
            "post_id": ObjectId(post_id),
            "post_author_id": followee,
            "created_at": cm.NOW,
        },
    }
    counted = await apply_counted(database, stack.settings, like)
    assert (await database[POST_VIEWS].find_one({"_id": post_id}) or {})["like_count"] == 1
    assert counted + PER_BATCH == pytest.approx(model_round_trips("changes", "like insert", 1))
    unlike = {**like, "_id": {"_data": "like delete"}, "operationType": "delete"}
    counted = await apply_counted(database, stack.settings, {**unlike, "fullDocument": None})
    assert counted + PER_BATCH == pytest.approx(model_round_trips("changes", "like delete", 1))

    user_id = ObjectId()
    user = {
        "_id": user_id,
        "handle": "ada",
        "handle_lower": "ada",
        "display_name": "Ada",
        "bio": "",
        "created_at": cm.NOW,
    }
    change = {
        "_id": {"_data": "user insert"},
        "operationType": "insert",
        "ns": {"db": "microblog", "coll": USERS},
        "documentKey": {"_id": user_id},
        "fullDocument": user,
    }
    counted = await apply_counted(database, stack.settings, change)
    assert counted + PER_BATCH == pytest.approx(model_round_trips("changes", "user insert", 1))
    counted = await apply_counted(database, stack.settings, {**change, "operationType": "update"})
    assert counted + PER_BATCH == pytest.approx(model_round_trips("changes", "user update", 1))


@pytest.mark.embedded_only
async def test_calls_cost_what_the_model_says(stack, alice, bob) -> None:
    """Writes: the use cases (command_service/commands); reads: the HTTP endpoints, as a
    signed-in reader (with the lookup of what they liked and reposted)."""
    database = stack.database
    alice_principal = Principal(user_id=alice.id, handle="alice")
    bob_principal = Principal(user_id=bob.id, handle="bob")
    expected = {
        r.name: r.per_call.round_trips for r in cm.model(TINY, degenerate(75), SIZES, cm.CODE).calls
    }

    async def read(path: str, user: Any) -> int:
        with counting_operations() as counted:
            response = await stack.query.get(path, headers=user.auth)
            assert response.status_code == 200, response.text
            assert response.json().get("items", [None]), path  # a page of something
        return counted.round_trips

    with counting_operations() as counted:
        await follows.follow(database, bob_principal, "alice")
        assert take(counted) == expected["follow"]
        post = await posts.create_post(database, alice_principal, text="hi", reply_to=None)
        assert take(counted) == expected["post"]
        await posts.create_post(database, bob_principal, text="re", reply_to=str(post["_id"]))
        assert take(counted) == expected["reply"]
        post_id = str(post["_id"])
        for name, call in (
            ("like", reactions.like),
            ("unlike", reactions.unlike),
            ("repost", reactions.repost),
            ("unrepost", reactions.unrepost),
        ):
            await call(database, bob_principal, post_id)
            assert take(counted) == expected[name], name
        gone = await posts.create_post(database, alice_principal, text="oops", reply_to=None)
        take(counted)
        await posts.delete_post(database, alice_principal, str(gone["_id"]))
        assert take(counted) == expected["delete"]

    await stack.settle()
    # (the timeline pages: test_timeline_pages_cost_what_the_model_says)
    assert await read("/query/v1/users/alice", bob) == expected["user page"]
    assert await read("/query/v1/users/alice/posts", bob) == expected["user posts"]
    assert await read(f"/query/v1/posts/{post_id}", bob) == expected["single post"]
    # alice's notifications: bob's follow and reply (the like and repost were taken back)
    assert await read("/query/v1/notifications", alice) == expected["notifications page"]

    with counting_operations() as counted:
        await follows.unfollow(database, bob_principal, "alice")
        assert take(counted) == expected["unfollow"]


@pytest.mark.embedded_only
async def test_timeline_pages_cost_what_the_model_says() -> None:
    """The four kinds of timeline page the model charges, read over HTTP as a signed-in reader
    whose pages show reposts (as the model assumes of every page): a first and a later page,
    without and with a large account followed (merged when the page is read)."""
    settings = make_settings(rate_limits_enabled=False, fanout_max_followers=3)
    expected = {
        r.name: r.per_call.round_trips for r in cm.model(TINY, degenerate(75), SIZES, cm.CODE).calls
    }
    expected_merged = {
        r.name: r.per_call.round_trips
        for r in cm.model(TINY, cm.Graph([TINY.threshold], [75], 1.0, [1]), SIZES, cm.CODE).calls
    }
    async with running_stack(settings) as stack:
        users = {h: await stack.sign_up(h) for h in ("alice", "bob", "carol", "dave", "erin")}
        for handle in ("frank", "gina"):
            users[handle] = await stack.sign_up(handle)
        # bob follows alice and carol (both small); dave follows alice and erin, who is large
        # (three followers: FANOUT_MAX_FOLLOWERS here), so dave's pages merge erin's reposts.
        for follower, followee in [
            ("bob", "alice"),
            ("bob", "carol"),
            ("dave", "alice"),
            ("dave", "erin"),
            ("frank", "erin"),
            ("gina", "erin"),
        ]:
            await users[follower].follow(followee)
        posted = [await users["alice"].post(f"post {n}") for n in range(2)]
        for reposter in ("carol", "erin"):
            for post in posted:
                path = f"/command/v1/posts/{post['id']}/repost"
                response = await stack.command.put(path, headers=users[reposter].auth)
                assert response.status_code == 204
        await stack.settle()

        async def pages(reader: str, reposter: str) -> list[int]:
            """Round trips of the first page and of the next, one item each: each shows a post
            of alice's reposted by `reposter`, the next one looking back at the first."""
            counts, cursor = [], None
            for _ in range(2):
                params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
                with counting_operations() as counted:
                    page = await users[reader].timeline(**params)
                counts.append(counted.round_trips)
                assert [item["reposted_by"]["handle"] for item in page["items"]] == [reposter]
                cursor = page["next_cursor"]
            return counts

        assert await pages("bob", "carol") == [
            expected["timeline page"],
            expected["timeline page, later"],
        ]
        assert await pages("dave", "erin") == [
            expected_merged["timeline page, merged"],
            expected_merged["timeline page, merged, later"],
        ]
