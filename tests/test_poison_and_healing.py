"""Changes that cannot be applied are parked, stream-ending events heal, a stalled loop is restarted."""

import asyncio

import pytest
from bson import ObjectId
from pymongo.errors import AutoReconnect

from query_service.projector import admin, dead_letters
from query_service.projector.dead_letters import PROJECTOR_DEAD_LETTERS
from query_service.projector.runner import Projector
from query_service.projector.service import create_projector_app
from query_service.read_models.registry import READ_MODEL_COLLECTIONS
from query_service.read_models.timelines import TimelinesProjection
from service_kit.clock import utc_now
from tests.reference_model import expected_read_models
from tests.support import PROBLEM_JSON, Stack, User, asgi_client, make_settings, running_stack


async def write_a_post_without_text(stack: Stack, author: User) -> ObjectId:
    """A write-model document the projections do not understand (no `text`)."""
    post_id = ObjectId()
    await stack.database["posts"].insert_one(
        {
            "_id": post_id,
            "author_id": ObjectId(author.id),
            "author_seq": 1000,
            "reply_to": None,
            "created_at": utc_now(),
            "deleted_at": None,
        }
    )
    return post_id


async def admin_output(stack: Stack, *argv: str) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = await admin.run_command(stack.read_database, list(argv), lines.append)
    return code, lines


async def test_a_change_that_keeps_failing_is_parked_and_the_stream_moves_on(
    stack: Stack, alice: User, bob: User
):
    await bob.follow("alice")
    await stack.settle()
    bad = await write_a_post_without_text(stack, alice)
    fine = await alice.post("written after the bad one")

    await stack.settle()

    assert await bob.timeline_ids() == [fine["id"]]
    parked = await dead_letters.list_parked(stack.read_database)
    assert len(parked) == 1
    assert parked[0]["change"]["documentKey"] == {"_id": bad}
    assert parked[0]["attempts"] == stack.settings.projector_poison_attempts
    assert "KeyError" in parked[0]["error"]
    assert stack.projector.dead_letters_parked == 1
    code, lines = await admin_output(stack, "dead-letters", "list")
    assert code == 0
    assert lines[-1] == "1 parked change(s)"
    assert str(bad) in lines[0]
    assert "KeyError" in lines[0]


async def test_a_parked_change_is_applied_again_on_request_against_its_current_document(
    stack: Stack, alice: User, bob: User
):
    await bob.follow("alice")
    bad = await write_a_post_without_text(stack, alice)
    await stack.settle()
    [letter] = await dead_letters.list_parked(stack.read_database)

    # An operator repairs the document, then asks for the parked insert to be applied again.
    await stack.database["posts"].update_one({"_id": bad}, {"$set": {"text": "repaired"}})
    code, _ = await admin_output(stack, "dead-letters", "replay", letter["_id"])
    assert code == 0
    await stack.settle()

    assert str(bad) in await bob.timeline_ids()
    assert await dead_letters.list_parked(stack.read_database) == []
    expected = await expected_read_models(stack.database, stack.settings.projector_backfill_limit)
    assert await stack.read_models() == expected


async def test_parked_changes_can_be_discarded(stack: Stack, alice: User):
    await write_a_post_without_text(stack, alice)
    await write_a_post_without_text(stack, alice)
    await stack.settle()

    code, lines = await admin_output(stack, "dead-letters", "discard", "--all")

    assert code == 0
    assert lines == ["discarded 2 parked change(s)"]
    assert await stack.read_database[PROJECTOR_DEAD_LETTERS].count_documents({}) == 0
    assert (await admin_output(stack, "dead-letters", "discard", "no-such-id"))[0] == 1


async def test_an_unreachable_mongodb_is_not_blamed_on_the_change(
    stack: Stack, alice: User, monkeypatch
):
    async def unreachable(self, context, change):
        raise AutoReconnect("connection reset")

    await alice.post("hello")
    monkeypatch.setattr(TimelinesProjection, "apply", unreachable)

    with pytest.raises(AutoReconnect):
        await stack.settle()
    assert await stack.read_database[PROJECTOR_DEAD_LETTERS].count_documents({}) == 0


async def test_a_dropped_write_model_collection_heals_by_rebuilding(stack: Stack, alice: User, bob):
    await bob.follow("alice")
    await alice.post("soon gone")
    await stack.settle()
    assert await bob.timeline_ids() != []

    await stack.database.drop_collection("posts")
    await stack.settle()

    assert await bob.timeline_ids() == []
    assert (await stack.user_page("alice"))["posts_count"] == 0
    assert (await stack.user_page("alice"))["followers_count"] == 1
    expected = await expected_read_models(stack.database, stack.settings.projector_backfill_limit)
    assert await stack.read_models() == expected


async def test_a_dropped_database_heals_by_rebuilding(stack: Stack, alice: User):
    await alice.post("soon gone")
    await stack.settle()

    await stack.connection.client.drop_database(stack.database.name)
    await stack.settle()

    assert await stack.read_models() == {name: [] for name in READ_MODEL_COLLECTIONS}


async def test_healthz_fails_when_the_loop_makes_no_progress_for_too_long(monkeypatch):
    never = asyncio.Event()

    async def hangs(self, context, change):
        await never.wait()

    async with running_stack(make_settings(projector_stall_seconds=1)) as stack:
        app = create_projector_app(stack.settings, stack.connection)
        async with app.router.lifespan_context(app), asgi_client(app) as client:
            await stack.sign_up("alice")
            projector: Projector = app.state.projector
            async with asyncio.timeout(10):
                while projector.status.phase != "following":  # noqa: ASYNC110 (another task's state)
                    await asyncio.sleep(0.01)
            assert (await client.get("/healthz")).status_code == 200

            monkeypatch.setattr(TimelinesProjection, "apply", hangs)
            await stack.users["alice"].post("this one hangs the projection")
            async with asyncio.timeout(10):
                while (response := await client.get("/healthz")).status_code == 200:  # noqa: ASYNC110
                    await asyncio.sleep(0.1)

            assert response.status_code == 503
            assert response.headers["content-type"] == PROBLEM_JSON
            assert response.json()["type"].endswith("stalled")
            never.set()


async def test_a_projector_cancelled_in_the_middle_of_a_change_stops_at_once(
    stack: Stack, alice: User, monkeypatch
):
    # Found by the crash harness: the retry loop used to take a cancellation for a failed attempt.
    started, calls = asyncio.Event(), 0

    async def hangs(self, context, change):
        nonlocal calls
        calls += 1
        started.set()
        await asyncio.Event().wait()

    await alice.post("hangs")
    monkeypatch.setattr(TimelinesProjection, "apply", hangs)
    task = asyncio.create_task(stack.settle())
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=2)

    assert task in done
    assert task.cancelled()
    assert calls == 1
