"""Replay = rebuild = incremental = the specification, over generated histories.

Hypothesis generates histories of posts, replies, deletes, follows, unfollows and profile
changes, with skewed writer clocks, small backfill limits and batch sizes, one change at a time or
several at once (PROJECTOR_CONCURRENCY, with the embedded store interleaving them). The projector then
reaches the read models three ways, and each must equal `reference_model.expected_read_models`:
- incrementally, catching up after random stretches of the history;
- replaying everything since a random earlier checkpoint onto the finished read models;
- rebuilding from the write model alone.
A second property crashes the projector right after any one of its writes (a counter update, a
membership, a timeline entry) and checks that a fresh projector ends in the same documents.
"""

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from query_service.projector.checkpoints import PROJECTOR_CHECKPOINTS
from tests.histories import Step, Writers, histories
from tests.reference_model import expected_read_models
from tests.support import Stack, make_settings, running_stack
from tests.test_counters import Crashed, crash_after_write

PROPERTIES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


async def project_three_ways(
    history: list[Step],
    catch_up_every: int,
    replay_from: int,
    backfill_limit: int,
    batch: int,
    concurrency: int = 8,
) -> None:
    config = make_settings(
        projector_backfill_limit=backfill_limit,
        projector_batch_size=batch,
        projector_concurrency=concurrency,
    )
    async with running_stack(config) as stack:
        writers = await Writers.sign_up(stack.database)
        checkpoints = []
        for n, step in enumerate(history, start=1):
            await writers.run(step)
            if n % catch_up_every == 0:
                await stack.settle()
                checkpoints.append(await stack.checkpoint())
        await stack.settle()
        expected = await expected_read_models(stack.database, backfill_limit)
        assert await stack.read_models() == expected, "incremental"

        earlier = checkpoints[replay_from % len(checkpoints)] if checkpoints else None
        if earlier is not None:
            await restore_checkpoint(stack, earlier)
            await stack.new_projector(config).catch_up()
            assert await stack.read_models() == expected, "replayed from an earlier checkpoint"

        await stack.read_database[PROJECTOR_CHECKPOINTS].delete_many({})
        await stack.new_projector(config).catch_up()
        assert await stack.read_models() == expected, "rebuilt"


async def restore_checkpoint(stack: Stack, checkpoint: dict) -> None:
    await stack.read_database[PROJECTOR_CHECKPOINTS].replace_one(
        {"_id": checkpoint["_id"]}, checkpoint
    )


@PROPERTIES
@given(
    history=histories,
    catch_up_every=st.integers(1, 8),
    replay_from=st.integers(0, 100),
    backfill_limit=st.integers(0, 3),
    batch=st.integers(1, 12),
    concurrency=st.sampled_from([1, 2, 8]),
)
async def test_incremental_replayed_and_rebuilt_read_models_all_equal_the_specification(
    history, catch_up_every, replay_from, backfill_limit, batch, concurrency
):
    await project_three_ways(
        history, catch_up_every, replay_from, backfill_limit, batch, concurrency
    )


@pytest.mark.embedded_only  # crashes inside the embedded store's writes
@settings(PROPERTIES, max_examples=40)
@given(
    history=histories,
    crash_at=st.integers(1, 150),
    backfill_limit=st.integers(0, 3),
    batch=st.integers(1, 12),
    concurrency=st.sampled_from([1, 8]),
)
async def test_a_crash_after_any_write_then_a_restart_ends_in_the_specification(
    history, crash_at, backfill_limit, batch, concurrency
):
    config = make_settings(
        projector_backfill_limit=backfill_limit,
        projector_batch_size=batch,
        projector_concurrency=concurrency,
    )
    async with running_stack(config) as stack:
        writers = await Writers.sign_up(stack.database)
        await stack.settle()
        for step in history:
            await writers.run(step)

        with crash_after_write(crash_at) as written, contextlib.suppress(Crashed):
            await stack.new_projector(config).catch_up()
        # It wrote, and crashed unless the history needed fewer writes than `crash_at` (many steps
        # of a generated history are refused: a like of nothing, a block of yourself, ...).
        assert written
        await stack.new_projector(config).catch_up()

        expected = await expected_read_models(stack.database, backfill_limit)
        assert await stack.read_models() == expected
