"""The projector's guarantees: replays change nothing, restarts resume exactly, lost history heals."""

import asyncio
from typing import Any

import pytest

from query_service.projector.checkpoints import load_checkpoint
from query_service.projector.projections import timelines
from query_service.projector.runner import ChangeStreamHistoryLost, Projector
from query_service.read_models.collections import DERIVED_COLLECTIONS, PROJECTOR_CHECKPOINTS
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
    for name in DERIVED_COLLECTIONS:
        await stack.database[name].delete_many({})
    await stack.database[PROJECTOR_CHECKPOINTS].replace_one({"_id": checkpoint["_id"]}, checkpoint)


async def test_replaying_an_applied_batch_changes_nothing(stack: Stack):
    await stack.settle()  # the first start: an (empty) rebuild and a checkpoint
    start = await stack.checkpoint()
    await write_a_busy_day(stack)
    await stack.settle()
    once = await stack.read_models()

    # Move the checkpoint back: every change since `start` is delivered and applied again.
    await stack.database[PROJECTOR_CHECKPOINTS].replace_one({"_id": start["_id"]}, start)
    replayed = await stack.settle()

    assert replayed == 18  # every write of the busy day, delivered again
    assert await stack.read_models() == once


async def test_applying_every_change_twice_in_a_row_equals_applying_it_once(
    stack: Stack, monkeypatch
):
    await stack.settle()
    start = await stack.checkpoint()
    await write_a_busy_day(stack)
    await stack.settle()
    once = await stack.read_models()

    from query_service.projector import runner

    async def apply_twice(context, change):
        await original(context, change)
        await original(context, change)

    original = runner.apply_change
    monkeypatch.setattr(runner, "apply_change", apply_twice)
    await reset_read_models_to(stack, start)
    await Projector(stack.database, stack.settings).catch_up()

    assert await stack.read_models() == once


@pytest.mark.parametrize("crash_after_fanouts", [1, 4, 7])  # the busy day has 7 posts
@pytest.mark.parametrize("effects_landed", [True, False], ids=["after-effects", "before-effects"])
async def test_a_projector_stopped_mid_stream_resumes_to_the_same_read_models(
    stack: Stack, monkeypatch, crash_after_fanouts, effects_landed
):
    await stack.settle()
    start = await stack.checkpoint()
    await write_a_busy_day(stack)
    uninterrupted = Projector(stack.database, make_settings(projector_batch_size=500))
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
            raise ConnectionError("the process died here")
        await original(*args, **kwargs)

    monkeypatch.setattr(timelines, "deliver_post", crashing_deliver_post)
    with pytest.raises(ConnectionError):
        await Projector(stack.database, make_settings(projector_batch_size=3)).catch_up()
    assert await stack.read_models() != expected  # the crash really left the work unfinished

    monkeypatch.setattr(timelines, "deliver_post", original)
    await Projector(stack.database, make_settings(projector_batch_size=3)).catch_up()

    assert await stack.read_models() == expected


async def test_stopping_between_batches_and_restarting_loses_nothing(stack: Stack):
    await stack.settle()
    await write_a_busy_day(stack)
    small_batches = make_settings(projector_batch_size=4)

    await Projector(stack.database, small_batches).catch_up(max_batches=2)
    partial = await stack.read_models()
    await Projector(stack.database, small_batches).catch_up()
    resumed = await stack.read_models()

    assert partial != resumed
    await stack.database[PROJECTOR_CHECKPOINTS].delete_many({})
    await Projector(stack.database, small_batches).catch_up()  # a rebuild from the write model
    assert await stack.read_models() == resumed


async def test_a_first_start_on_existing_data_rebuilds_the_read_models(stack: Stack):
    await stack.settle()
    await write_a_busy_day(stack)
    await stack.settle()
    incremental = await stack.read_models()

    for name in DERIVED_COLLECTIONS:
        await stack.database[name].delete_many({})
    await stack.database[PROJECTOR_CHECKPOINTS].delete_many({})
    await stack.settle()

    assert await stack.read_models() == incremental


async def test_a_checkpoint_older_than_the_change_history_triggers_a_rebuild():
    # The history must outlast one rebuild's own writes (as an oplog must), yet lose the checkpoint.
    async with running_stack(make_settings(embedded_change_history=100)) as stack:
        await stack.settle()
        await write_a_busy_day(stack)
        await stack.database["unrelated"].insert_many([{"n": n} for n in range(120)])

        with pytest.raises(ChangeStreamHistoryLost):
            await stack.projector.catch_up()

        stop = asyncio.Event()
        running = asyncio.create_task(stack.projector.run(stop))
        async with asyncio.timeout(10):
            while stack.projector.status.phase != "following" or not await stack.checkpoint():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        stop.set()
        await running

        users = {
            view["handle"]: view for view in await stack.database["user_views"].find().to_list(None)
        }
        assert set(users) == {"alice", "bob", "carol"}
        assert (users["alice"]["followers_count"], users["bob"]["posts_count"]) == (2, 2)
        assert len(await stack.users["carol"].timeline_ids()) == 5  # own, alice's and bob's
        await stack.users["alice"].post("after the rebuild")
        assert await stack.settle() == 1


async def test_an_update_whose_document_is_gone_removes_the_post(stack: Stack, alice):
    await stack.settle()
    post = await alice.post("here, then not")
    await stack.settle()

    from query_service.projector.context import ProjectionContext
    from query_service.projector.projections import apply_change
    from query_service.projector.projections.counters import recount

    context = ProjectionContext(stack.database, backfill_limit=200, fanout_chunk=1000)
    change = {
        "operationType": "update",
        "ns": {"db": stack.database.name, "coll": "posts"},
        "documentKey": {"_id": post["id"]},
        "fullDocument": None,  # what updateLookup gives once the document is deleted
        "updateDescription": {"updatedFields": {}, "removedFields": [], "truncatedArrays": []},
    }
    await apply_change(context, change)
    await recount(context)

    assert await stack.database["post_views"].count_documents({}) == 0
    assert await stack.database["timeline_entries"].count_documents({}) == 0
    assert (await stack.user_page("alice"))["posts_count"] == 0


async def test_backfill_takes_at_most_the_configured_number_of_recent_posts():
    async with running_stack(make_settings(projector_backfill_limit=2)) as stack:
        alice, bob = await stack.sign_up("alice"), await stack.sign_up("bob")
        posts = [await alice.post(f"post {n}") for n in range(5)]
        await stack.settle()

        await bob.follow("alice")
        await stack.settle()

        assert await bob.timeline_ids() == [posts[4]["id"], posts[3]["id"]]


async def test_the_checkpoint_records_the_cluster_time_of_the_last_applied_change(
    stack: Stack, alice
):
    await stack.settle()
    await alice.post("tick")
    await stack.settle()

    checkpoint = await load_checkpoint(stack.database)
    logged = stack.connection.client.change_log.after(0)  # type: ignore[attr-defined]
    last_post = [change.event for change in logged if change.event["ns"]["coll"] == "posts"][-1]

    assert checkpoint is not None
    assert checkpoint.cluster_time == last_post["clusterTime"]
    # The token itself moves on past the projector's own (filtered-out) writes while idle.
    assert checkpoint.resume_token["_data"] > last_post["_id"]["_data"]
    assert await stack.settle() == 0
