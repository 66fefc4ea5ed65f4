"""The crash harness, short: concurrent writers, the projector killed at random points (some of
them in the middle of a rebuild), and every read model audited at the end. The full run is
`make crash-harness` (docs/reliability.md)."""

import asyncio
from typing import Any

import pytest

from query_service.projector import control, rebuild
from query_service.projector.runner import Projector
from query_service.read_models import timelines
from tests.harness.audit import Documents, audit_read_models, snapshot
from tests.harness.crash import HarnessConfig, run_harness
from tests.harness.kills import where_suspended
from tests.reference_model import expected_read_models
from tests.support import make_settings, running_stack

SHORT = HarnessConfig(
    changes=300, kills=12, writers=6, seed=7, users=8, backfill_limit=3, rebuild_every=2
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


# BUG found by the crash harness (query_service/projector/applying.py, owned by the lead; not fixed
# here). `ChangeApplier.apply_with_retries` retries every error that is not an infrastructure error,
# and tenacity's `with attempt:` catches BaseException, so an `asyncio.CancelledError` raised while a
# change is being applied counts as a failed attempt: the projector swallows the cancellation, waits
# the poison backoff and applies the change again. A task cancelled mid-change (a shutdown past its
# grace period, `asyncio.timeout`, the harness's kill) keeps running. Remove the xfail once fixed
# (for example `retry_if_exception(lambda e: isinstance(e, Exception) and not is_infrastructure_error(e))`).
@pytest.mark.xfail(strict=True, reason="BUG: a cancellation landing mid-change is retried")
async def test_a_projector_cancelled_in_the_middle_of_a_change_stops(
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
        stop = asyncio.Event()
        task = asyncio.create_task(Projector(stack.database, stack.settings).run(stop))
        await asyncio.wait_for(entered.wait(), 10)

        task.cancel()
        # Cancelled, it ends within a few turns of the loop; swallowed, it waits in `held` again.
        await asyncio.wait([task], timeout=2)
        ended = task.done()
        stop.set()
        release.set()
        await asyncio.gather(task, return_exceptions=True)
        assert ended


# BUG found by the crash harness (query_service/projector, owned by the lead; not fixed here). An
# operator's rebuild request is consumed when the rebuild starts (`report_rebuild(state="running")`
# replaces "requested"), so when the projector dies during that rebuild the next projector resumes
# from the checkpoint and never rebuilds: the request is lost, and the report says "running" for
# good, which the admin command following it would show forever. Remove the xfail once fixed.
@pytest.mark.xfail(strict=True, reason="BUG: a rebuild request dies with the projector")
async def test_an_operator_rebuild_cut_short_by_a_crash_is_done_by_the_next_projector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with running_stack(make_settings()) as stack:
        alice = await stack.sign_up("alice")
        await alice.post("hello")
        await stack.settle()
        await control.request_rebuild(stack.database)
        entered = asyncio.Event()

        async def crashing_replay(*args: Any, **kwargs: Any) -> int:
            entered.set()
            await asyncio.Event().wait()  # the process dies here, in the middle of the rebuild
            return 0

        monkeypatch.setattr(rebuild, "replay_write_model", crashing_replay)
        task = asyncio.create_task(Projector(stack.database, stack.settings).catch_up())
        await asyncio.wait_for(entered.wait(), 10)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        monkeypatch.undo()

        await Projector(stack.database, stack.settings).catch_up()

        report = await control.rebuild_report(stack.database)
        assert report is not None
        assert report.state == "done"
