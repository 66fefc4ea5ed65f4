"""O(1) counters stay exact: crashes between a counter and its membership, changes delivered
again, rebuilds that meet a reply before its parent, parked changes replayed long after, and
the marks that make it so never leaving the read models."""

import contextlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo.errors import AutoReconnect

from query_service.projector import dead_letters
from query_service.projector.checkpoints import PROJECTOR_CHECKPOINTS
from query_service.read_models import counters
from query_service.read_models.counters import MARKS
from query_service.read_models.names import POST_VIEWS, USER_VIEWS
from query_service.read_models.registry import READ_MODEL_COLLECTIONS
from service_kit.clock import utc_now
from service_kit.mongo.embedded.store import EmbeddedCollection
from tests.reference_model import expected_read_models
from tests.support import Stack, User, make_settings
from tests.test_projector import reset_read_models_to, write_a_busy_day

WRITES = ("update_one", "update_many", "delete_one", "delete_many", "bulk_write")


class Crashed(AutoReconnect):
    """The connection died right after the server applied a write: the projector never learns
    that it landed, and a fresh one resumes from the checkpoint."""


@contextlib.contextmanager
def crash_after_write(number: int) -> Iterator[list[str]]:
    """Raise after the `number`-th read-model write of the block has landed; yields the names
    of the collections written, in order (to say where it crashed)."""
    written: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        for name in WRITES:
            original = getattr(EmbeddedCollection, name)

            async def landed_then_crash(
                self: EmbeddedCollection, *args: Any, _original: Any = original, **kwargs: Any
            ) -> Any:
                result = await _original(self, *args, **kwargs)
                if self.name in READ_MODEL_COLLECTIONS:
                    written.append(self.name)
                    if len(written) == number:
                        raise Crashed(f"after write {number} ({self.name})")
                return result

            patch.setattr(EmbeddedCollection, name, landed_then_crash)
        yield written


async def matches_the_specification(stack: Stack) -> bool:
    expected = await expected_read_models(stack.database, stack.settings.projector_backfill_limit)
    return await stack.read_models() == expected


@pytest.mark.embedded_only  # crashes inside the embedded store's writes
async def test_a_crash_after_any_write_of_a_batch_leaves_exact_counts_once_resumed(stack: Stack):
    await stack.settle()
    start = await stack.checkpoint()
    await write_a_busy_day(stack)
    batch = make_settings(projector_batch_size=6)
    with crash_after_write(10**6) as written:
        await stack.new_projector(batch).catch_up()
    assert await matches_the_specification(stack)
    total = len(written)
    assert total > 40  # every counter update and membership of the busy day

    for number in range(1, total + 1):
        await reset_read_models_to(stack, start)
        with crash_after_write(number) as written, pytest.raises(Crashed):
            await stack.new_projector(batch).catch_up()
        await stack.new_projector(batch).catch_up()
        assert await matches_the_specification(stack), f"crashed after write {written[-1:]}"


@pytest.mark.embedded_only
@pytest.mark.parametrize("number", [1, 2, 3])  # the author's count, then the view, then entries
async def test_a_post_deleted_outright_is_uncounted_even_after_a_crash(
    stack: Stack, alice: User, number: int
):
    post = await alice.post("here, then gone for good")
    await stack.settle()
    # Not a tombstone: the document itself is deleted; the event carries only its key.
    await stack.database["posts"].delete_one({"_id": ObjectId(post["id"])})

    with crash_after_write(number), pytest.raises(Crashed):
        await stack.new_projector().catch_up()
    await stack.new_projector().catch_up()

    assert (await stack.user_page("alice"))["posts_count"] == 0
    assert await matches_the_specification(stack)


async def test_marks_never_reach_an_api_response_and_stay_bounded(
    stack: Stack, alice: User, bob: User, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(counters, "MARKS_KEPT", 3)
    first = await alice.post("first")
    for n in range(5):
        await bob.post(f"reply {n}", reply_to=first["id"])
    await bob.follow("alice")
    await stack.settle()

    stored = await stack.read_database[POST_VIEWS].find_one({"_id": first["id"]})
    assert stored is not None
    assert len(stored[MARKS]) == 3  # five replies counted, the last three marks kept
    assert stored["reply_count"] == 5
    responses = [
        await stack.query.get(f"/query/v1/posts/{first['id']}"),
        await stack.query.get("/query/v1/users/alice"),
        await stack.query.get("/query/v1/users/bob/posts"),
        await stack.query.get("/query/v1/timeline", headers=bob.auth),
    ]
    for response in responses:
        assert response.status_code == 200
        assert MARKS not in response.text
    views = await stack.read_database[USER_VIEWS].find({}, counters.WITHOUT_MARKS).to_list(None)
    assert all(MARKS not in view for view in views)


async def write_post(stack: Stack, author: User, post_id: ObjectId, **fields: Any) -> None:
    """A post straight into the write model, with an `_id` of our choosing."""
    number = await stack.database["posts"].count_documents({"author_id": ObjectId(author.id)})
    await stack.database["posts"].insert_one(
        {
            "_id": post_id,
            "author_id": ObjectId(author.id),
            "text": "t",
            "reply_to": None,
            "reply_to_author_id": None,
            "author_seq": number + 1,
            "hashtags": [],
            "mentions": [],
            "mention_ids": [],
            "created_at": utc_now(),
            "deleted_at": None,
        }
        | fields
    )


@pytest.mark.parametrize("parent_deleted", [False, True])
async def test_a_rebuild_that_meets_a_reply_before_its_parent_counts_it_exactly(
    stack: Stack, alice: User, bob: User, parent_deleted: bool
):
    # Ids made on pods whose clocks disagree: the reply's id sorts before its parent's, so a
    # rebuild (which replays posts in `_id` order) meets the reply first.
    now = utc_now()
    reply_id = ObjectId.from_datetime(now - timedelta(hours=1))
    parent_id = ObjectId.from_datetime(now)
    await write_post(stack, alice, parent_id)
    await write_post(
        stack,
        bob,
        reply_id,
        reply_to=parent_id,
        reply_to_author_id=ObjectId(alice.id),
    )
    if parent_deleted:
        await stack.database["posts"].update_one(
            {"_id": parent_id}, {"$set": {"deleted_at": utc_now(), "text": ""}}
        )
    await stack.settle()
    incremental = await stack.read_models()

    await stack.read_database[PROJECTOR_CHECKPOINTS].delete_many({})
    await stack.settle()

    assert await stack.read_models() == incremental
    assert await matches_the_specification(stack)
    parent = await stack.read_database[POST_VIEWS].find_one({"_id": str(parent_id)})
    if parent_deleted:
        assert parent is None  # the count alone made a stub, which the rebuild dropped
    else:
        assert parent is not None
        assert parent["reply_count"] == 1


async def test_a_parked_user_replayed_later_gets_the_counts_that_could_not_reach_it(
    stack: Stack, alice: User
):
    # A user document the projections cannot read (no display name), followed meanwhile.
    broken_id = ObjectId()
    await stack.database["users"].insert_one(
        {
            "_id": broken_id,
            "handle": "broken",
            "handle_lower": "broken",
            "bio": "",
            "password_hash": "unused",
            "created_at": utc_now(),
            "updated_at": utc_now(),
        }
    )
    await stack.database["follows"].insert_one(
        {
            "_id": {"follower": ObjectId(alice.id), "followee": broken_id},
            "follower_id": ObjectId(alice.id),
            "followee_id": broken_id,
            "followee_post_seq": 0,
            "created_at": utc_now(),
        }
    )
    await stack.settle()
    [letter] = await dead_letters.list_parked(stack.read_database)
    assert (await stack.user_page("alice"))["following_count"] == 1

    await stack.database["users"].update_one({"_id": broken_id}, {"$set": {"display_name": "B"}})
    await dead_letters.request_replay(stack.read_database, letter["_id"])
    await stack.settle()

    # The follow counted into a view that did not exist; the replay recounts it from the edges.
    assert (await stack.user_page("broken"))["followers_count"] == 1
    assert await dead_letters.list_parked(stack.read_database) == []
    assert await matches_the_specification(stack)
