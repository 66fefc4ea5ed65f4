"""The capacity model (benchmarks/capacity_model.py) on a tiny graph: invariants that a broken
model would violate. Fast: a few thousand accounts."""

import json
import math
from dataclasses import replace
from typing import Any

import pytest
from bson import ObjectId

from benchmarks import capacity_model as cm
from command_service.commands import follows, posts
from query_service.projector import rebuild
from query_service.projector.projection import ProjectionContext, ProjectionSettings
from query_service.read_models import timelines
from query_service.read_models.names import FOLLOW_EDGES, POST_VIEWS, TIMELINE_ENTRIES
from query_service.read_models.posts import post_by_id, posts_by_author
from query_service.read_models.registry import projections_of
from query_service.read_models.timelines import home_timeline
from query_service.read_models.users import user_by_handle
from service_kit.mongo import Database
from service_kit.mongo.embedded.operations import OperationCount, counting_operations
from service_kit.tokens import Principal
from service_kit.write_model import FOLLOWS, POSTS, USERS

TINY = cm.Config(users=4_000, readers=300, seed=11)


@pytest.fixture(scope="module")
def tiny() -> tuple[cm.Graph, cm.OplogSizes, list[cm.Result]]:
    return cm.run(TINY)


def by_name(results: list[cm.Result]) -> dict[str, cm.Result]:
    return {result.design.name: result for result in results}


def row(rows: list[cm.Row], name: str) -> cm.Row:
    return next(r for r in rows if r.name == name)


def test_deliveries_per_post_are_calibrated(tiny) -> None:
    graph, _, results = tiny
    full = by_name(results)["full fan-out (before hybrid fan-out)"]
    assert full.deliveries_per_post == pytest.approx(TINY.target_deliveries, rel=1e-3)
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
        else:
            assert by_design[1].deliveries_per_post == 0


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
    capped = designs["hybrid fan-out + cap"]
    assert capped.timeline_entries_deleted_per_second == pytest.approx(
        capped.timeline_entries_written_per_second
    )
    uncapped = designs["hybrid fan-out"]
    assert (
        uncapped.timeline_entries_deleted_per_second < uncapped.timeline_entries_written_per_second
    )
    counters = cm.side_totals(designs["hybrid fan-out + cap + O(1) counters"])[cm.PROJECTOR]
    recounts = cm.side_totals(capped)[cm.PROJECTOR]
    assert counters.keys_counted == 0 < recounts.keys_counted
    assert counters.round_trips < recounts.round_trips


def test_round_trips_follow_the_code_paths(tiny) -> None:
    _, _, results = tiny
    full, hybrid = results[0], results[1]
    # commands/posts.py:create_post -> post_sequences $inc + insert_one (+ find_live_post)
    assert row(full.calls, "post").per_call.round_trips == 2
    assert row(full.calls, "reply").per_call.round_trips == 3
    # commands/follows.py:follow -> find_user_by_handle + last_post_number + upsert_follow
    assert row(full.calls, "follow").per_call.round_trips == 3
    assert row(full.calls, "timeline page").per_call.round_trips == 2
    assert row(hybrid.calls, "timeline page, merged").per_call.round_trips == 3
    # a post insert: author summary + upsert + edge scan + at least one bulk write + recounts
    assert row(full.changes, "post insert").per_call.round_trips >= 10


def test_cursor_round_trips() -> None:
    assert cm.cursor_round_trips(0, 100) == 1
    assert cm.cursor_round_trips(100, 100) == 1
    assert cm.cursor_round_trips(101, 100) == 2
    per_getmore = cm.GETMORE_BYTES // 100
    assert cm.cursor_round_trips(101 + per_getmore, 100) == 3


def test_oplog_sizes_come_from_the_document_shapes() -> None:
    short, long = cm.measure_oplog_sizes(10), cm.measure_oplog_sizes(110)
    assert long["posts.insert"] - short["posts.insert"] == 100
    assert long["post_views.insert"] - short["post_views.insert"] == 100
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
    summary = payload["designs"]["full fan-out (before hybrid fan-out)"]["summary"]
    assert math.isclose(summary["deliveries per post"], 75, rel_tol=1e-3)


# ---- the model's round trips against the code's: count what the code issues on the store ---------


def take(counted: OperationCount) -> int:
    """The round trips the data-access layer recorded since the last take (a find counts once:
    the embedded store shows no getMores; the model adds those for cursors past the first batch)."""
    trips = counted.round_trips
    counted.operations.clear()
    return trips


def degenerate(followers: int, following: int = 75) -> cm.Graph:
    """A graph where every account has `followers` followers: the model's expectation is then
    the cost of exactly one such account."""
    return cm.Graph([followers], [following], 1.0, [0])


# The code's design is hybrid fan-out with the cap. The cap's trims run on a hashed fraction of
# deliveries, so the tests compare without them (`no_trims`) against the design without the cap;
# the model adds the trims as expected values.
CODE_WITHOUT_TRIMS = cm.DESIGNS[1]


@pytest.fixture(autouse=True)
def no_trims(monkeypatch: pytest.MonkeyPatch) -> None:
    async def untrimmed(context: Any, owner_id: str) -> None:
        return None

    monkeypatch.setattr(timelines, "trim", untrimmed)


def model_round_trips(kind: str, name: str, followers: int) -> float:
    config = replace(TINY, ratios=replace(TINY.ratios, reply=0.0))
    sizes = cm.measure_oplog_sizes(config.text_chars)
    result = cm.model(config, degenerate(followers), sizes, CODE_WITHOUT_TRIMS)
    return row(getattr(result, kind), name).per_call.round_trips


PER_BATCH = 2 / cm.BATCH_SIZE  # the stream's getMore and the checkpoint, shared by a full batch


async def apply_counted(database: Database, settings: Any, change: dict[str, Any]) -> int:
    context = ProjectionContext(
        database,
        ProjectionSettings(
            settings.projector_backfill_limit,
            cm.FANOUT_CHUNK,
            settings.fanout_max_followers,
            settings.timeline_max_entries,
        ),
    )
    with counting_operations() as counted:
        for projection in projections_of(change["ns"]["coll"]):
            await projection.apply(context, change)
        await rebuild.finish_batch(context)
    return counted.round_trips


@pytest.mark.parametrize("followers", [5, 150])
async def test_a_post_insert_costs_what_the_model_says(stack, followers: int, monkeypatch) -> None:
    # Small bulk chunks, so that chunking is exercised on a graph the embedded store handles fast.
    monkeypatch.setattr(cm, "FANOUT_CHUNK", 20)
    database = stack.database
    author = str(ObjectId())
    await stack.database[FOLLOW_EDGES].insert_many(
        [
            {
                "_id": f"{i}:{author}",
                "follower_id": str(i),
                "followee_id": author,
                "followee_post_seq": 0,
                "created_at": cm.NOW,
            }
            for i in range(followers)
        ]
    )
    post = {
        "_id": ObjectId(),
        "author_id": ObjectId(author),
        "text": "hello",
        "reply_to": None,
        "author_seq": 1,
        "created_at": cm.NOW,
        "deleted_at": None,
    }
    change = {
        "operationType": "insert",
        "ns": {"db": "microblog", "coll": POSTS},
        "documentKey": {"_id": post["_id"]},
        "fullDocument": post,
    }
    counted = await apply_counted(database, stack.settings, change)
    getmores = cm.cursor_round_trips(followers, 106) - 1
    assert counted + getmores + PER_BATCH == pytest.approx(
        model_round_trips("changes", "post insert", followers)
    )
    tombstone = {
        **change,
        "operationType": "update",
        "fullDocument": {**post, "deleted_at": cm.NOW},
    }
    counted = await apply_counted(database, stack.settings, tombstone)
    assert counted + PER_BATCH == pytest.approx(
        model_round_trips("changes", "post tombstone", followers)
    )


async def test_follows_and_users_cost_what_the_model_says(stack) -> None:
    database = stack.database
    follower, followee = ObjectId(), ObjectId()
    await stack.database[POST_VIEWS].insert_many(
        [
            {
                "_id": str(ObjectId()),
                "author_id": str(followee),
                "author_seq": n,
                "created_at": cm.NOW,
            }
            for n in range(1, cm.BACKFILL_LIMIT + 1)
        ]
    )
    key = {"follower": follower, "followee": followee}
    follow = {
        "_id": key,
        "follower_id": follower,
        "followee_id": followee,
        "followee_post_seq": cm.BACKFILL_LIMIT,
        "created_at": cm.NOW,
    }
    change = {
        "operationType": "insert",
        "ns": {"db": "microblog", "coll": FOLLOWS},
        "documentKey": {"_id": key},
        "fullDocument": follow,
    }
    counted = await apply_counted(database, stack.settings, change)
    # The model charges a typical follower the query for replies by the accounts it follows;
    # this one follows nobody else, so the code skips it.
    counted += 1
    assert await stack.database[TIMELINE_ENTRIES].count_documents({}) == cm.BACKFILL_LIMIT
    getmores = cm.cursor_round_trips(cm.BACKFILL_LIMIT, 359) - 1
    assert counted + getmores + PER_BATCH == pytest.approx(
        model_round_trips("changes", "follow insert", 100)
    )
    unfollow = {**change, "operationType": "delete", "fullDocument": None}
    counted = await apply_counted(database, stack.settings, unfollow)
    assert counted + PER_BATCH == pytest.approx(model_round_trips("changes", "follow delete", 100))

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
        "operationType": "insert",
        "ns": {"db": "microblog", "coll": USERS},
        "documentKey": {"_id": user_id},
        "fullDocument": user,
    }
    counted = await apply_counted(database, stack.settings, change)
    assert counted + PER_BATCH == pytest.approx(model_round_trips("changes", "user insert", 1))
    counted = await apply_counted(database, stack.settings, {**change, "operationType": "update"})
    assert counted + PER_BATCH == pytest.approx(model_round_trips("changes", "user update", 1))


async def test_calls_cost_what_the_model_says(stack, alice, bob) -> None:
    database = stack.database
    with counting_operations() as counted:
        alice_principal = Principal(user_id=alice.id, handle="alice")
        bob_principal = Principal(user_id=bob.id, handle="bob")
        expected = {
            r.name: r.per_call.round_trips
            for r in cm.model(
                TINY, degenerate(75), cm.measure_oplog_sizes(70), CODE_WITHOUT_TRIMS
            ).calls
        }

        take(counted)
        await follows.follow(database, bob_principal, "alice")
        assert take(counted) == expected["follow"]
        post = await posts.create_post(database, alice_principal, text="hi", reply_to=None)
        assert take(counted) == expected["post"]
        await posts.create_post(database, bob_principal, text="re", reply_to=str(post["_id"]))
        assert take(counted) == expected["reply"]
        await posts.delete_post(database, alice_principal, str(post["_id"]))
        assert take(counted) == expected["delete"]
        await follows.unfollow(database, bob_principal, "alice")
        assert take(counted) == expected["unfollow"]

        await stack.settle()
        take(counted)
        await home_timeline(database, bob.id, 20, None, stack.settings.timeline_max_entries)
        assert take(counted) == expected["timeline page"]
        await user_by_handle(database, "alice")
        assert take(counted) == expected["user page"]
        await post_by_id(database, str(post["_id"]))
        assert take(counted) == expected["single post"]
        user = await user_by_handle(database, "alice")
        assert user is not None
        await posts_by_author(database, user["_id"], 20, None)
        assert take(counted) == expected["user posts"]
