"""The capacity model (benchmarks/capacity_model.py) on a tiny graph: invariants that a broken
model would violate. Fast: a few thousand accounts."""

import json
import math
from dataclasses import replace

import pytest

from benchmarks import capacity_model as cm

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
    full = by_name(results)["full fan-out (current code)"]
    assert full.deliveries_per_post == pytest.approx(TINY.target_deliveries, rel=1e-3)
    assert sum(graph.followers) / len(graph.followers) == pytest.approx(75, rel=1e-3)
    assert max(graph.followers) <= TINY.max_followers
    assert max(graph.following) <= TINY.max_following


def test_hybrid_never_writes_more_timeline_entries_than_full_fan_out(tiny) -> None:
    _, _, results = tiny
    full, *hybrids = results
    for hybrid in hybrids:
        assert hybrid.deliveries_per_post <= full.deliveries_per_post
        written = hybrid.timeline_entries_written_per_second
        assert written <= full.timeline_entries_written_per_second
        # the fan-out itself (post inserts, trims aside) never costs more round trips for writes
        assert row(hybrid.changes, "post insert").per_call.docs_written <= row(
            full.changes, "post insert"
        ).per_call.docs_written * (2 if hybrid.design.cap else 1)


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
    summary = payload["designs"]["full fan-out (current code)"]["summary"]
    assert math.isclose(summary["deliveries per post"], 75, rel_tol=1e-3)
