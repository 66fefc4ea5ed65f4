"""The crash harness, short: concurrent writers, the projector killed at random points (some of
them in the middle of a rebuild), and every read model audited at the end. The full run is
`make crash-harness` (docs/reliability.md)."""

import asyncio
from typing import Any

import pytest

from query_service.projector.runner import Projector
from query_service.read_models import timelines
from tests.harness.audit import Documents, audit_read_models, snapshot
from tests.harness.crash import HarnessConfig, run_harness
from tests.harness.kills import where_suspended
from tests.reference_model import expected_read_models
from tests.support import make_settings, running_stack

SHORT = HarnessConfig(
    changes=300,
    kills=12,
    writers=6,
    seed=7,
    users=8,
    backfill_limit=3,
    rebuild_every=2,
    fanout_max_followers=4,
)


async def test_a_projector_killed_at_random_points_loses_duplicates_and_miscounts_nothing() -> None:
    summary = await run_harness(SHORT)

    report = "\n".join(summary.lines())
    assert summary.changes >= SHORT.changes, report
    assert summary.kills >= SHORT.kills, report
    # Not vacuous: kills landed in work under way, in batches and in rebuilds.
    assert summary.kills_mid_batch + summary.kills_mid_rebuild >= 1, report
    assert summary.kills_mid_rebuild >= 1, report
    assert summary.rebuild_triggers >= 2, report
    assert summary.failures == [], report
    assert summary.audit.documents > 0, report
    # ... and the hybrid rule was at work: large accounts, trimmed timelines.
    assert summary.large_accounts >= 1, report
    assert summary.timelines_over_cap >= 1, report
    for audit in (summary.audit, summary.rebuild_audit):
        assert (audit.lost, audit.extra, audit.duplicated) == (0, 0, 0), report
        assert (audit.counter_mismatches, audit.field_mismatches) == (0, 0), report
    assert summary.ok, report


def test_the_audit_counts_lost_extra_duplicated_and_miscounted_documents() -> None:
    reference: Documents = {
        "timeline_entries": [
            {"_id": "u1:p1", "owner_id": "u1", "post_id": "p1"},
            {"_id": "u1:p2", "owner_id": "u1", "post_id": "p2"},
        ],
        "user_views": [{"_id": "u1", "handle_lower": "a", "posts_count": 2}],
    }
    actual: Documents = {
        "timeline_entries": [
            {"_id": "u1:p1", "owner_id": "u1", "post_id": "p1"},
            {"_id": "copy", "owner_id": "u1", "post_id": "p1"},
        ],
        "user_views": [{"_id": "u1", "handle_lower": "a", "posts_count": 3}],
    }

    audit = audit_read_models(actual, reference)

    assert (audit.lost, audit.extra, audit.duplicated) == (1, 1, 1)
    assert (audit.counter_mismatches, audit.field_mismatches) == (1, 0)
    assert not audit.clean
    assert audit_read_models(reference, reference).clean


async def test_a_kill_is_located_where_the_projector_was_suspended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with running_stack(make_settings()) as stack:
        alice = await stack.sign_up("alice")
        await stack.settle()
        await alice.post("hello")
        entered, release = asyncio.Event(), asyncio.Event()
        original = timelines.deliver_post

        async def held(*args: Any, **kwargs: Any) -> None:
            entered.set()
            await release.wait()
            await original(*args, **kwargs)

        monkeypatch.setattr(timelines, "deliver_post", held)
        task = asyncio.create_task(Projector(stack.database, stack.settings).catch_up())
        await asyncio.wait_for(entered.wait(), 10)

        assert where_suspended(task) == "batch:mid-change"
        release.set()
        await asyncio.wait_for(task, 10)
        expected = await expected_read_models(
            stack.database, stack.settings.projector_backfill_limit
        )
        assert audit_read_models(await snapshot(stack.database), expected).clean
