"""Concurrent lanes (query_service/projector/lanes.py): a slow fan-out no longer holds up changes
that do not depend on it, and changes that do still wait for it.

Each test holds one write of one change inside the embedded store and looks at what the others
do meanwhile, so none depends on timing: a hold ends when what it waits for happens, or after a
bound that only the correct schedule reaches."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from bson import ObjectId

from command_service.write_model import blocks
from query_service.projector.lanes import InOrder, Lanes, post_scope, scopes_of
from query_service.projector.metrics import Lag
from query_service.read_models.names import FOLLOW_EDGES, POST_VIEWS, TIMELINE_ENTRIES, USER_VIEWS
from service_kit.mongo.embedded.store import EmbeddedCollection
from tests.reference_model import expected_read_models
from tests.support import Stack, User, make_settings, running_stack

pytestmark = pytest.mark.embedded_only  # holds writes inside the embedded store


Hold = Callable[[EmbeddedCollection, str, Any], bool]


@contextlib.asynccontextmanager
async def holding(
    method: str, which: Hold, until: Callable[[], Awaitable[bool]], seconds: float
) -> AsyncIterator[list[bool]]:
    """Hold the first write `which` picks until `until()` is true or `seconds` pass; yields
    [whether `until` came true during the hold] once the hold is over."""
    outcome: list[bool] = []
    original = getattr(EmbeddedCollection, method)

    async def held(self: EmbeddedCollection, first: Any, *args: Any, **kwargs: Any) -> Any:
        if not outcome and which(self, method, first):
            outcome.append(False)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + seconds
            while loop.time() < deadline:
                if await until():
                    outcome[0] = True
                    break
                await asyncio.sleep(0.005)
        return await original(self, first, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(EmbeddedCollection, method, held)
        yield outcome


def entries_for(post_id: str) -> Hold:
    def which(collection: EmbeddedCollection, method: str, requests: Any) -> bool:
        return collection.name == TIMELINE_ENTRIES and any(
            str(request._filter.get("_id", "")).endswith(post_id) for request in requests
        )

    return which


def view_of(collection_name: str, document_id: str) -> Hold:
    """The upsert that writes a view (not a counter update, which carries `$inc`)."""

    def which(collection: EmbeddedCollection, method: str, filter: Any) -> bool:
        return collection.name == collection_name and filter == {"_id": document_id}

    return which


async def exists(stack: Stack, collection: str, document_id: str) -> bool:
    return await stack.read_database[collection].find_one({"_id": document_id}) is not None


async def matches_the_specification(stack: Stack) -> bool:
    expected = await expected_read_models(stack.database, stack.settings.projector_backfill_limit)
    return await stack.read_models() == expected


async def test_a_slow_fan_out_does_not_delay_another_accounts_change(
    stack: Stack, alice: User, bob: User
):
    await stack.settle()
    slow = await alice.post("a fan-out that takes its time")
    quick = await bob.post("meanwhile")

    async def quick_applied() -> bool:
        return await exists(stack, POST_VIEWS, quick["id"])

    async with holding("bulk_write", entries_for(slow["id"]), quick_applied, 5) as seen:
        await stack.settle()

    assert seen == [True], "bob's post waited for alice's fan-out"
    assert await matches_the_specification(stack)


async def test_one_at_a_time_the_other_change_waits_for_the_fan_out():
    # The same batch with PROJECTOR_CONCURRENCY=1: what the lanes are for.
    async with running_stack(make_settings(projector_concurrency=1)) as stack:
        alice, bob = await stack.sign_up("alice"), await stack.sign_up("bob")
        await stack.settle()
        slow = await alice.post("a fan-out that takes its time")
        quick = await bob.post("meanwhile")

        async def quick_applied() -> bool:
            return await exists(stack, POST_VIEWS, quick["id"])

        async with holding("bulk_write", entries_for(slow["id"]), quick_applied, 0.3) as seen:
            await stack.settle()

        assert seen == [False]
        assert await matches_the_specification(stack)


async def test_an_unfollow_waits_for_a_delivery_of_the_followee_under_way(
    stack: Stack, alice: User, bob: User
):
    # Bob's delivery has read his followers (alice among them) and is about to write; alice's
    # unfollow in the same batch must not remove bob's entries from her timeline before that
    # write, or the delivery would put the post back after the unfollow.
    await alice.follow("bob")
    await stack.settle()
    post = await bob.post("delivered while alice unfollows")
    await alice.unfollow("bob")

    async def unfollowed() -> bool:
        return not await exists(stack, FOLLOW_EDGES, f"{alice.id}:{bob.id}")

    async with holding("bulk_write", entries_for(post["id"]), unfollowed, 0.3) as seen:
        await stack.settle()

    assert seen == [False], "the unfollow ran while the followee's delivery was under way"
    assert post["id"] not in await alice.timeline_ids()
    assert await matches_the_specification(stack)


async def test_a_reply_waits_for_its_parents_view_to_count_into_it(
    stack: Stack, alice: User, bob: User
):
    await stack.settle()
    parent = await alice.post("the parent")
    reply = await bob.post("the reply", reply_to=parent["id"])

    async def reply_applied() -> bool:
        return await exists(stack, POST_VIEWS, reply["id"])

    async with holding("update_one", view_of(POST_VIEWS, parent["id"]), reply_applied, 0.3) as seen:
        await stack.settle()

    assert seen == [False], "the reply was counted before its parent's view existed"
    view = await stack.read_database[POST_VIEWS].find_one({"_id": parent["id"]})
    assert view is not None
    assert view["reply_count"] == 1
    assert await matches_the_specification(stack)


async def test_a_follow_waits_for_the_followers_own_profile_to_count_into_it(
    stack: Stack, alice: User
):
    await stack.settle()
    newcomer = await stack.sign_up("newcomer")
    await newcomer.follow("alice")

    async def followed() -> bool:
        return await exists(stack, FOLLOW_EDGES, f"{newcomer.id}:{alice.id}")

    async with holding("update_one", view_of(USER_VIEWS, newcomer.id), followed, 0.3) as seen:
        await stack.settle()

    assert seen == [False], "the follow was counted before the follower's view existed"
    assert (await stack.user_page("newcomer"))["following_count"] == 1
    assert await matches_the_specification(stack)


async def test_a_cancelled_batch_stops_every_lane_before_it_returns(
    stack: Stack, alice: User, bob: User, monkeypatch: pytest.MonkeyPatch
):
    await stack.settle()
    await alice.post("one lane")
    await bob.post("another lane")
    started, never = [], asyncio.Event()
    original = EmbeddedCollection.bulk_write

    async def hangs(self: EmbeddedCollection, requests: Any, **kwargs: Any) -> Any:
        if self.name == TIMELINE_ENTRIES:
            started.append(asyncio.current_task())
            await never.wait()
        return await original(self, requests, **kwargs)

    monkeypatch.setattr(EmbeddedCollection, "bulk_write", hangs)
    settling = asyncio.create_task(stack.settle())
    async with asyncio.timeout(10):
        while len(started) < 2:  # noqa: ASYNC110 (other tasks' state)
            await asyncio.sleep(0.005)

    settling.cancel()
    with pytest.raises(asyncio.CancelledError):
        await settling
    assert all(task is not None and task.done() for task in started)
    assert await stack.read_database[TIMELINE_ENTRIES].count_documents({}) == 0


def test_scopes_put_dependent_changes_in_one_lane() -> None:
    author, follower, parent = ObjectId(), ObjectId(), ObjectId()
    post_id = ObjectId()
    ns = {"db": "microblog"}

    def change(coll: str, key: Any, document: Any = None) -> dict[str, Any]:
        return {
            "operationType": "insert",
            "ns": {**ns, "coll": coll},
            "documentKey": {"_id": key},
            "fullDocument": document,
        }

    reply = {"_id": post_id, "author_id": author, "reply_to": parent}
    follow_key = {"follower": follower, "followee": author}
    assert scopes_of(change("users", author)) == {str(author)}
    assert scopes_of(change("posts", post_id, reply)) == {
        str(author),
        post_scope(post_id),
        post_scope(parent),
    }
    assert scopes_of(change("follows", follow_key, {})) == {str(author), str(follower)}
    like_key = {"user": follower, "post": post_id}
    assert scopes_of(change("likes", like_key)) == {post_scope(post_id), str(follower)}
    # Deleted outright, a post names no author: it waits for everything, everything for it.
    assert scopes_of(change("posts", post_id, None)) is None
    assert scopes_of({"operationType": "drop", "ns": ns}) is None
    # A post without an author cannot name its lane: the applier parks it, after the others.
    assert scopes_of(change("posts", post_id, {"_id": post_id})) is None


async def test_a_barrier_waits_for_every_earlier_change_and_every_later_one_for_it() -> None:
    order: list[str] = []
    gates = {name: asyncio.Event() for name in ("a", "b")}

    def work(name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if name in gates:
                await gates[name].wait()
            order.append(name)

        return run

    lanes = Lanes(8)
    lanes.submit(frozenset({"a"}), work("a"))
    lanes.submit(frozenset({"b"}), work("b"))
    lanes.submit(None, work("barrier"))
    lanes.submit(frozenset({"c"}), work("c"))
    await asyncio.sleep(0.01)
    assert order == []
    gates["b"].set()
    await asyncio.sleep(0.01)
    assert order == ["b"]
    gates["a"].set()
    await lanes.drain()
    assert order == ["b", "a", "barrier", "c"]


async def test_after_a_failed_change_neither_a_barrier_nor_what_follows_it_runs() -> None:
    """A failed change is done before the barrier is submitted: the barrier must still fail
    with it, or a later change would count into what the failed one did not write (found by the
    crash property once blocks became barriers: a reply counted into a parent view not yet
    written, and its count was lost)."""
    ran: list[str] = []

    async def fail() -> None:
        raise RuntimeError("the connection died here")

    def work(name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            ran.append(name)

        return run

    lanes = Lanes(8)
    lanes.submit(frozenset({"parent"}), fail)
    await asyncio.sleep(0.01)  # it has failed, and is done, before the barrier comes
    lanes.submit(None, work("barrier"))
    lanes.submit(frozenset({"reply", "parent"}), work("reply"))
    lanes.submit(frozenset({"other"}), work("after the barrier"))
    with pytest.raises(RuntimeError, match="died here"):
        await lanes.drain()
    assert ran == []


async def test_lag_counts_from_the_oldest_change_still_under_way() -> None:
    now = [100.0]
    lag = Lag(clock=lambda: now[0])
    in_order = InOrder(lag)

    async def nothing() -> None:
        return None

    written = [datetime.fromtimestamp(t, UTC) for t in (90.0, 95.0)]
    changes = [{"_id": n, "wallTime": wall} for n, wall in enumerate(written)]
    applies = [in_order.add(change, nothing) for change in changes]
    for change in changes:
        lag.read(change)
    now[0] = 110.0
    await applies[1]()  # the later change is applied first: the earlier one still waits
    assert lag.seconds() == pytest.approx(20.0)
    await applies[0]()
    now[0] = 111.0
    assert lag.seconds() == pytest.approx(16.0)  # both applied: from the last one's write time


async def test_stopping_the_lanes_outlasts_a_second_cancellation() -> None:
    # A kill repeats its cancellation; the batch must still wait until its lanes have stopped.
    unwinding = asyncio.Event()
    stopped: list[bool] = []

    async def slow_to_stop() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            unwinding.set()
            await asyncio.shield(asyncio.sleep(0.05))  # e.g. a driver closing a cursor
            stopped.append(True)

    lanes = Lanes(8)
    lanes.submit(frozenset({"a"}), slow_to_stop)
    await asyncio.sleep(0)
    stopping = asyncio.create_task(lanes.cancel())
    await unwinding.wait()
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    assert stopped == [True]


async def test_an_event_that_ends_the_stream_waits_for_the_changes_before_it(
    stack: Stack, alice: User, bob: User
):
    await blocks.upsert_block(stack.database, ObjectId(alice.id), ObjectId(bob.id))
    await stack.settle()
    post = await alice.post("applied before the drop that follows it")
    await stack.database.drop_collection("blocks")  # a drop: the read models must be rebuilt
    projector = stack.new_projector()

    async def never() -> bool:
        return False

    # The post's fan-out is slow; the drop right behind it must not cut it short.
    async with holding("bulk_write", entries_for(post["id"]), never, 0.2) as seen:
        await projector.catch_up()

    assert seen == [False]
    applied = projector.metrics.registry.get_sample_value(
        "microblog_projector_changes_applied_total", {"collection": "posts", "operation": "insert"}
    )
    assert applied == 1
    assert projector.status.rebuilds == 1
    assert await matches_the_specification(stack)
