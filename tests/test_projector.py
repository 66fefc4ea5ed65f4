"""The projector's guarantees: stream order over clocks, replays change nothing, restarts resume
exactly, rebuilds work under traffic without ever clearing what readers see."""

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo.errors import AutoReconnect

from command_service.commands.posts import create_post
from query_service.projector import control, rebuild
from query_service.projector.applying import ChangeApplier
from query_service.projector.checkpoints import PROJECTOR_CHECKPOINTS, load_checkpoint
from query_service.projector.runner import Projector
from query_service.read_models import timelines
from query_service.read_models.registry import READ_MODEL_COLLECTIONS
from service_kit.clock import skewed_clock
from service_kit.tokens import Principal
from tests.reference_model import expected_read_models
from tests.support import Stack, make_settings, running_stack


async def write_a_busy_day(stack: Stack) -> None:
    """Every kind of change, interleaved: sign-ups, follows, posts, replies, unfollows, deletes."""
    alice, bob, carol = [await stack.sign_up(handle) for handle in ("alice", "bob", "carol")]
    first = await alice.post("first")
    await bob.follow("alice")
    await carol.follow("alice")
    reply = await bob.post("reply", reply_to=first["id"])
    await alice.follow("bob")
    for n in range(4):
        await (alice, bob, carol)[n % 3].post(f"chatter {n}")
    await carol.unfollow("alice")
    await alice.delete(first["id"])
    await bob.post("after the delete")
    await carol.follow("bob")
    await bob.delete(reply["id"])
    await carol.follow("alice")


async def reset_read_models_to(stack: Stack, checkpoint: dict[str, Any]) -> None:
    for name in READ_MODEL_COLLECTIONS:
        await stack.database[name].delete_many({})
    await stack.read_database[PROJECTOR_CHECKPOINTS].replace_one(
        {"_id": checkpoint["_id"]}, checkpoint
    )


async def matches_the_specification(stack: Stack) -> bool:
    expected = await expected_read_models(stack.database, stack.settings.projector_backfill_limit)
    return await stack.read_models() == expected


# ---- defect 1: clock order instead of stream order ----------------------------------------------


@pytest.mark.parametrize("skewed", ["post", "follow"])
async def test_a_post_written_before_a_follow_reaches_the_follower_whatever_the_clocks_say(
    stack: Stack, alice, bob, skewed
):
    # Two command pods: one clock runs 5 s ahead of the other.
    with skewed_clock(timedelta(seconds=5 if skewed == "post" else 0)):
        post = await alice.post("stamped later than the follow that comes after it")
    with skewed_clock(timedelta(seconds=-5 if skewed == "follow" else 0)):
        assert (await bob.follow("alice")).status_code == 204

    await stack.settle()

    assert post["id"] in await bob.timeline_ids()
    assert await matches_the_specification(stack)


# ---- defect 2: replay must not differ from the first pass, nor rebuild from either --------------


async def test_with_a_small_backfill_limit_first_pass_replay_and_rebuild_agree():
    async with running_stack(make_settings(projector_backfill_limit=2)) as stack:
        alice, bob = await stack.sign_up("alice"), await stack.sign_up("bob")
        posts = [await alice.post(f"post {n}") for n in range(4)]
        await stack.settle()
        before_the_follow = await stack.checkpoint()
        await bob.follow("alice")
        await stack.settle()
        await alice.delete(posts[3]["id"])
        await stack.settle()
        first_pass = await stack.read_models()
        # The follow's window was posts 2 and 3; deleting 3 does not pull post 1 in.
        assert await bob.timeline_ids() == [posts[2]["id"]]

        await stack.read_database[PROJECTOR_CHECKPOINTS].replace_one(
            {"_id": before_the_follow["_id"]}, before_the_follow
        )
        await stack.new_projector().catch_up()
        assert await stack.read_models() == first_pass, "replay from before the follow"

        await stack.read_database[PROJECTOR_CHECKPOINTS].delete_many({})
        await stack.new_projector().catch_up()
        assert await stack.read_models() == first_pass, "rebuild"
        assert await matches_the_specification(stack)


async def test_replaying_an_applied_batch_changes_nothing(stack: Stack):
    await stack.settle()  # the first start: an (empty) rebuild and a checkpoint
    start = await stack.checkpoint()
    await write_a_busy_day(stack)
    await stack.settle()
    once = await stack.read_models()

    # Move the checkpoint back: every change since `start` is delivered and applied again.
    await stack.read_database[PROJECTOR_CHECKPOINTS].replace_one({"_id": start["_id"]}, start)
    replayed = await stack.settle()

    assert replayed == 18  # every write of the busy day, delivered again
    assert await stack.read_models() == once
    assert await matches_the_specification(stack)


async def test_applying_every_change_twice_in_a_row_equals_applying_it_once(
    stack: Stack, monkeypatch
):
    await stack.settle()
    start = await stack.checkpoint()
    await write_a_busy_day(stack)
    await stack.settle()
    once = await stack.read_models()

    original = ChangeApplier.apply_with_retries

    async def apply_twice(self, context, change):
        await original(self, context, change)
        await original(self, context, change)

    monkeypatch.setattr(ChangeApplier, "apply_with_retries", apply_twice)
    await reset_read_models_to(stack, start)
    await stack.new_projector().catch_up()

    assert await stack.read_models() == once


@pytest.mark.parametrize("crash_after_fanouts", [1, 4, 7])  # the busy day has 7 posts
@pytest.mark.parametrize("effects_landed", [True, False], ids=["after-effects", "before-effects"])
async def test_a_projector_stopped_mid_stream_resumes_to_the_same_read_models(
    stack: Stack, monkeypatch, crash_after_fanouts, effects_landed
):
    await stack.settle()
    start = await stack.checkpoint()
    await write_a_busy_day(stack)
    uninterrupted = stack.new_projector(make_settings(projector_batch_size=500))
    await uninterrupted.catch_up()
    expected = await stack.read_models()

    # Again from the same start, in small batches, crashing in the middle of a batch's effects.
    await reset_read_models_to(stack, start)
    calls = 0
    original = timelines.deliver_post

    async def crashing_deliver_post(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == crash_after_fanouts:
            if effects_landed:
                await original(*args, **kwargs)  # the effects land, the checkpoint does not
            raise AutoReconnect("the connection died here")
        await original(*args, **kwargs)

    monkeypatch.setattr(timelines, "deliver_post", crashing_deliver_post)
    with pytest.raises(AutoReconnect):
        await stack.new_projector(make_settings(projector_batch_size=3)).catch_up()
    assert await stack.read_models() != expected  # the crash really left the work unfinished

    monkeypatch.setattr(timelines, "deliver_post", original)
    await stack.new_projector(make_settings(projector_batch_size=3)).catch_up()

    assert await stack.read_models() == expected


async def test_stopping_between_batches_and_restarting_loses_nothing(stack: Stack):
    await stack.settle()
    await write_a_busy_day(stack)
    small_batches = make_settings(projector_batch_size=4)

    await stack.new_projector(small_batches).catch_up(max_batches=2)
    partial = await stack.read_models()
    await stack.new_projector(small_batches).catch_up()
    resumed = await stack.read_models()

    assert partial != resumed
    await stack.read_database[PROJECTOR_CHECKPOINTS].delete_many({})
    await stack.new_projector(small_batches).catch_up()  # a rebuild from the write model
    assert await stack.read_models() == resumed
    assert await matches_the_specification(stack)


async def test_a_first_start_on_existing_data_rebuilds_the_read_models(stack: Stack):
    await stack.settle()
    await write_a_busy_day(stack)
    await stack.settle()
    incremental = await stack.read_models()

    for name in READ_MODEL_COLLECTIONS:
        await stack.database[name].delete_many({})
    await stack.read_database[PROJECTOR_CHECKPOINTS].delete_many({})
    await stack.settle()

    assert await stack.read_models() == incremental


# ---- defects 3 and 4: rebuilds under traffic, never clearing what readers see -------------------


async def until(condition: Any, seconds: float = 10) -> None:
    async with asyncio.timeout(seconds):
        while not await condition():  # noqa: ASYNC110 (polls state another task changes)
            await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def projector_running(projector: Projector):
    stop = asyncio.Event()
    task = asyncio.create_task(projector.run(stop))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@contextlib.asynccontextmanager
async def steady_writes(stack: Stack, handle: str):
    """One post after another, each a few milliseconds apart: the stream is never idle.

    Through the command side's use case rather than HTTP: hundreds of posts a second from one
    user are exactly what the API's write rate limit refuses."""
    writer, stop = await stack.sign_up(handle), asyncio.Event()
    author = Principal(user_id=writer.id, handle=writer.handle)

    async def write() -> None:
        for n in range(5000):  # bounded, in case a test forgets to stop it
            if stop.is_set():
                return
            await create_post(stack.database, author, text=f"steady {n}", reply_to=None)
            await asyncio.sleep(0.002)

    task = asyncio.create_task(write())
    try:
        yield
    finally:
        stop.set()
        await task


@pytest.mark.embedded_only  # needs a stream that is never idle within the emulation's short wait
async def test_a_rebuild_starts_and_completes_while_writes_never_stop(stack: Stack):
    await write_a_busy_day(stack)
    await stack.settle()
    await stack.read_database[PROJECTOR_CHECKPOINTS].delete_many({})  # forces a rebuild on start
    projector = stack.new_projector()

    async with steady_writes(stack, "steady"), projector_running(projector):

        async def rebuilt_and_following() -> bool:
            return projector.status.rebuilds == 1 and projector.status.phase == "following"

        await until(rebuilt_and_following)

    await stack.settle()
    assert await matches_the_specification(stack)


async def test_an_operator_rebuild_of_a_running_system_swaps_in_complete_read_models(
    stack: Stack,
):
    await write_a_busy_day(stack)
    await stack.settle()
    projector = stack.new_projector()
    async with steady_writes(stack, "steady"), projector_running(projector):
        requested_at = await control.request_rebuild(stack.read_database)

        async def done() -> bool:
            report = await control.rebuild_report(stack.read_database)
            return report is not None and report.state == "done"

        await until(done)
        report = await control.rebuild_report(stack.read_database)
        assert report is not None
        assert report.finished_at is not None
        assert report.finished_at >= requested_at
        # Counted while the writer goes on, so the two may differ by a post or two; the busy day
        # alone has 4 users, 5 live posts and 4 follows.
        assert report.replayed >= 13
        assert report.total >= 13
    await stack.settle()
    assert await matches_the_specification(stack)


@pytest.mark.embedded_only  # shrinks the change history, which only the emulation allows
async def test_a_rebuild_that_cannot_reach_its_start_keeps_the_live_read_models_and_backs_off():
    async with running_stack(make_settings(embedded_change_history=20)) as stack:
        # Projected step by step, the history is long enough for the live projector...
        alice, bob = await stack.sign_up("alice"), await stack.sign_up("bob")
        await stack.settle()
        assert (await bob.follow("alice")).status_code == 204
        await stack.settle()
        for n in range(6):
            await alice.post(f"post {n}")
            await stack.settle()
        live = await stack.read_models()
        bob_sees = await bob.timeline_ids()
        assert len(bob_sees) == 6
        # Push the checkpoint out of the history: the projector must rebuild, and the rebuild's
        # own writes push its start out too, on every attempt.
        await stack.database["unrelated"].insert_many([{"n": n} for n in range(25)])
        projector = stack.new_projector()

        async with projector_running(projector):

            async def failed_twice() -> bool:
                return projector.status.rebuilds >= 2 and projector.status.phase == "rebuild-failed"

            await until(failed_twice, seconds=20)
            assert "history" in (projector.status.last_error or "")
            report = await control.rebuild_report(stack.read_database)
            assert report is not None
            assert report.state == "failed"
            # Readers kept the old read models the whole time.
            assert await stack.read_models() == live
            assert await bob.timeline_ids() == bob_sees


async def test_a_checkpoint_older_than_the_change_history_triggers_a_rebuild():
    async with running_stack(make_settings(embedded_change_history=400)) as stack:
        await stack.settle()
        await write_a_busy_day(stack)
        await stack.database["unrelated"].insert_many([{"n": n} for n in range(450)])
        rebuilds = stack.projector.status.rebuilds

        assert await stack.projector.catch_up() >= 0
        assert stack.projector.status.rebuilds == rebuilds + 1
        assert await matches_the_specification(stack)
        users = {
            view["handle"]: view
            for view in await stack.read_database["user_views"].find().to_list(None)
        }
        assert (users["alice"]["followers_count"], users["bob"]["posts_count"]) == (2, 2)
        await stack.users["alice"].post("after the rebuild")
        assert await stack.settle() == 1


async def test_an_update_whose_document_is_gone_removes_the_post(stack: Stack, alice):
    await stack.settle()
    post = await alice.post("here, then not")
    await stack.settle()
    await stack.database["posts"].delete_one({"_id": ObjectId(post["id"])})
    await stack.settle()

    assert await stack.read_database["post_views"].count_documents({}) == 0
    assert await stack.read_database["timeline_entries"].count_documents({}) == 0
    assert (await stack.user_page("alice"))["posts_count"] == 0


async def test_backfill_takes_at_most_the_configured_number_of_recent_posts():
    async with running_stack(make_settings(projector_backfill_limit=2)) as stack:
        alice, bob = await stack.sign_up("alice"), await stack.sign_up("bob")
        posts = [await alice.post(f"post {n}") for n in range(5)]
        await stack.settle()

        await bob.follow("alice")
        await stack.settle()

        assert await bob.timeline_ids() == [posts[4]["id"], posts[3]["id"]]


@pytest.mark.embedded_only  # reads the emulation's change log
async def test_the_checkpoint_records_the_cluster_time_of_the_last_applied_change(
    stack: Stack, alice
):
    await stack.settle()
    await alice.post("tick")
    await stack.settle()

    checkpoint = await load_checkpoint(stack.read_database)
    logged = stack.connection.client.change_log.after(0)  # type: ignore[attr-defined]
    last_post = [change.event for change in logged if change.event["ns"]["coll"] == "posts"][-1]

    assert checkpoint is not None
    assert checkpoint.cluster_time == last_post["clusterTime"]
    # The token itself moves on past the projector's own (filtered-out) writes while idle.
    assert checkpoint.resume_token["_data"] > last_post["_id"]["_data"]
    assert await stack.settle() == 0


async def test_an_operator_rebuild_cut_short_by_a_crash_is_finished_by_the_next_projector(
    stack: Stack, alice, monkeypatch
):
    # Found by the crash harness: the request used to die with the projector, "running" for good.
    await alice.post("hello")
    await stack.settle()
    await control.request_rebuild(stack.read_database)
    entered = asyncio.Event()

    async def dies_mid_rebuild(*args: Any, **kwargs: Any) -> int:
        entered.set()
        await asyncio.Event().wait()
        return 0

    monkeypatch.setattr(rebuild, "replay_write_model", dies_mid_rebuild)
    task = asyncio.create_task(stack.new_projector().catch_up())
    await asyncio.wait_for(entered.wait(), 10)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    monkeypatch.undo()

    await stack.new_projector().catch_up()

    report = await control.rebuild_report(stack.read_database)
    assert report is not None
    assert report.state == "done"
    assert await matches_the_specification(stack)
