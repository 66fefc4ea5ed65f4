"""Consistency tokens: only issued ones make a query wait, waiting costs the same however many wait,
and a command's token names the last write that changed something.

Nothing here is timed: whether a query waited is read from the projector-progress signal (the
checkpoint reads the query service makes, and how many queries wait) and from `X-Consistency`.
"""

import asyncio
import base64
import struct
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from bson.timestamp import Timestamp
from pydantic import SecretStr

from command_service.write_model import follows
from query_service.api import consistency
from query_service.api.consistency import ProjectionProgress
from query_service.main import create_app as create_query_app
from query_service.projector.checkpoints import load_checkpoint
from service_kit.consistency import ConsistencyKeys
from service_kit.settings import Settings
from tests.support import PROBLEM_JSON, Stack, asgi_client, make_settings, running_stack

TOKEN = "X-Consistency-Token"
KEY = "the-current-consistency-key-of-at-least-32-characters"
OTHER_KEY = "some-other-consistency-key-of-at-least-32-characters"


class CheckpointReads:
    """The query service's reads of the projector's checkpoint, counted, and held at a gate the
    test opens one read at a time."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, gated: bool) -> None:
        self.calls = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self._gated = gated
        self._gate = asyncio.Semaphore(0)
        self._arrived = asyncio.Condition()
        monkeypatch.setattr(consistency, "load_checkpoint", self._read)

    async def _read(self, database: Any) -> Any:
        self.calls += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        async with self._arrived:
            self._arrived.notify_all()
        try:
            if self._gated:
                await self._gate.acquire()
            return await load_checkpoint(database)
        finally:
            self.in_flight -= 1

    async def until_called(self, times: int) -> None:
        async with self._arrived:
            await self._arrived.wait_for(lambda: self.calls >= times)

    def open_once(self) -> None:
        self._gate.release()


def progress_of(stack: Stack) -> ProjectionProgress:
    app = stack.query._transport.app  # type: ignore[attr-defined]  # the query app under test
    progress: ProjectionProgress = app.state.projection_progress
    return progress


async def until(condition: Callable[[], bool]) -> None:
    """Let the other tasks run until `condition` holds (they register without any I/O)."""
    for _ in range(100_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


@asynccontextmanager
async def waiting_stack(**overrides: Any) -> AsyncIterator[Stack]:
    """A stack whose queries would wait (much) longer than any test takes, unless told not to."""
    values = {"consistency_wait_ms": 30_000, "consistency_secret": KEY} | overrides
    settings = make_settings(**values)
    async with running_stack(settings) as stack:
        yield stack


async def unprojected_write(stack: Stack, user: Any) -> str:
    """A post the projector has not applied yet, and its token."""
    created = await stack.command.post(
        "/command/v1/posts", json={"text": "not projected yet"}, headers=user.auth
    )
    assert created.status_code == 201, created.text
    token: str = created.headers[TOKEN]
    return token


def old_unsigned_token(seconds: int) -> str:
    """The form tokens had before they were MAC'd: a bare cluster time, which anyone could make."""
    packed = struct.pack(">II", seconds, 1)
    return base64.urlsafe_b64encode(packed).decode().rstrip("=")


def tampered(token: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[3] ^= 1  # one second later, with the MAC of the time actually issued
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


# ---- only issued tokens make a query wait --------------------------------------------------------


async def test_a_forged_or_tampered_token_is_refused_without_making_the_query_wait(monkeypatch):
    async with waiting_stack() as stack:
        alice = await stack.sign_up("alice")
        await stack.settle()
        issued = await unprojected_write(stack, alice)
        reads = CheckpointReads(monkeypatch, gated=False)
        later = Timestamp(int(time.time()) + 200, 1)
        forged = [
            old_unsigned_token(int(time.time()) + 200),  # the attack: any time up to 300 s ahead
            ConsistencyKeys(OTHER_KEY.encode()).issue(later),  # well formed, another key
            tampered(issued),
            issued[:-1],
            issued + "A",
            "",
        ]
        for token in forged:
            read = await stack.query.get(
                "/query/v1/users/alice", params={"consistent_after": token}
            )

            assert read.status_code == 400, (token, read.status_code)
            assert read.headers["content-type"] == PROBLEM_JSON
            assert read.json()["type"] == "urn:microblog:problem:invalid-consistency-token"
            assert "x-consistency" not in read.headers
            assert progress_of(stack).waiting == 0
        assert reads.calls == 0  # no query looked at the projector's progress, let alone waited


async def test_a_token_under_the_previous_key_is_accepted_and_one_under_neither_is_refused():
    async with waiting_stack(consistency_wait_ms=100) as stack:
        alice = await stack.sign_up("alice")
        issued = await unprojected_write(stack, alice)
        await stack.settle()
        rotated = stack.settings.model_copy(
            update={
                "consistency_secret": SecretStr(OTHER_KEY),
                "consistency_previous_secret": SecretStr(KEY),
            }
        )
        retired = stack.settings.model_copy(update={"consistency_secret": SecretStr(OTHER_KEY)})

        async with query_client(rotated, stack) as after_rotation:
            accepted = await after_rotation.get("/query/v1/users/alice", headers={TOKEN: issued})
        async with query_client(retired, stack) as after_the_next:
            refused = await after_the_next.get("/query/v1/users/alice", headers={TOKEN: issued})

    assert accepted.status_code == 200
    assert accepted.headers["X-Consistency"] == "fresh"
    assert accepted.json()["posts_count"] == 1
    assert refused.status_code == 400


@asynccontextmanager
async def query_client(settings: Settings, stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """Another query service process with other settings, on the same store."""
    app = create_query_app(
        Settings.model_validate(settings.model_dump()),  # validated like a process's own
        stack.connection,
    )
    async with app.router.lifespan_context(app), asgi_client(app) as client:
        yield client


def test_the_previous_key_needs_a_current_one_and_keys_need_32_characters():
    with pytest.raises(ValueError, match="CONSISTENCY_PREVIOUS_SECRET needs CONSISTENCY_SECRET"):
        make_settings(consistency_secret=None, consistency_previous_secret=KEY)
    with pytest.raises(ValueError, match="CONSISTENCY_SECRET must be at least 32 characters"):
        make_settings(consistency_secret="short")
    with pytest.raises(ValueError, match="CONSISTENCY_SECRET must be set when MONGODB_URI"):
        make_settings(mongodb_uri="mongodb://db.example/?replicaSet=rs0", consistency_secret=None)


# ---- waiting queries do not slow the others down --------------------------------------------------


async def test_many_waiting_queries_cost_one_checkpoint_read_per_poll_and_others_none(monkeypatch):
    async with waiting_stack() as stack:
        alice = await stack.sign_up("alice")
        await stack.settle()
        token = await unprojected_write(stack, alice)
        reads = CheckpointReads(monkeypatch, gated=True)
        progress = progress_of(stack)

        waiting = [
            asyncio.create_task(stack.query.get("/query/v1/users/alice", headers={TOKEN: token}))
            for _ in range(200)
        ]
        await until(lambda: progress.waiting == 200)
        await reads.until_called(1)
        assert reads.calls == 1  # one read, held at the gate, for all 200

        unrelated = await stack.query.get("/query/v1/users/alice")
        assert unrelated.status_code == 200
        assert "x-consistency" not in unrelated.headers
        assert reads.calls == 1  # a query without a token never reads the progress

        for polls in (2, 3, 4):  # each poll, not each waiting query, reads once
            reads.open_once()
            await reads.until_called(polls)
            assert reads.calls == polls
            assert progress.waiting == 200

        await stack.settle()  # the projector applies the post: the next poll wakes everyone
        reads.open_once()
        answered = await asyncio.gather(*waiting)

    assert reads.calls == 4
    assert reads.most_in_flight == 1
    assert {read.headers["X-Consistency"] for read in answered} == {"fresh"}
    assert {read.json()["posts_count"] for read in answered} == {1}


async def test_beyond_the_cap_a_query_is_answered_at_once_and_says_stale(monkeypatch):
    async with waiting_stack(consistency_max_waiters=10) as stack:
        alice = await stack.sign_up("alice")
        await stack.settle()
        token = await unprojected_write(stack, alice)
        reads = CheckpointReads(monkeypatch, gated=True)
        progress = progress_of(stack)
        waiting = [
            asyncio.create_task(stack.query.get("/query/v1/users/alice", headers={TOKEN: token}))
            for _ in range(10)
        ]
        await until(lambda: progress.waiting == 10)

        # The gate is closed and the wait is 30 s: answered while nothing can move, this query
        # did not wait (a waiting one would still be pending when `until` gives up).
        asking = asyncio.create_task(
            stack.query.get("/query/v1/users/alice", headers={TOKEN: token})
        )
        await until(asking.done)
        beyond = asking.result()

        assert beyond.status_code == 200
        assert beyond.headers["X-Consistency"] == "stale"
        assert progress.waiting == 10
        await stack.settle()
        reads.open_once()
        answered = await asyncio.gather(*waiting)
    assert {read.headers["X-Consistency"] for read in answered} == {"fresh"}


async def test_a_reached_token_is_answered_fresh_from_what_the_process_already_saw(monkeypatch):
    async with waiting_stack() as stack:
        alice = await stack.sign_up("alice")
        token = await unprojected_write(stack, alice)
        await stack.settle()
        reads = CheckpointReads(monkeypatch, gated=False)
        first = await stack.query.get("/query/v1/users/alice", headers={TOKEN: token})
        again = await stack.query.get("/query/v1/users/alice", headers={TOKEN: token})

    assert first.headers["X-Consistency"] == again.headers["X-Consistency"] == "fresh"
    assert reads.calls == 1  # the checkpoint only moves forward: once reached, always reached


# ---- a command's token names the last write that changed something ------------------------------


async def test_a_block_that_ends_no_follows_answers_with_the_token_of_the_block(monkeypatch):
    """On a server, the block's follow removal that deletes nothing reports the latest applied
    cluster time, later than any change the projector will see when another client wrote
    something it does not watch in between (a rate-limit counter, a read model)."""
    async with waiting_stack(consistency_wait_ms=2000) as stack:
        alice = await stack.sign_up("alice")
        await stack.sign_up("bob")
        await stack.settle()
        remove_follows = follows.delete_follows_between

        async def after_another_clients_write(database: Any, one: Any, other: Any) -> None:
            await stack.database["another_clients_writes"].insert_one({"at": "block"})
            await remove_follows(database, one, other)

        monkeypatch.setattr(follows, "delete_follows_between", after_another_clients_write)
        blocked = await stack.command.put("/command/v1/users/bob/block", headers=alice.auth)
        assert blocked.status_code == 204
        await stack.settle()

        reads = CheckpointReads(monkeypatch, gated=False)
        read = await stack.query.get("/query/v1/users/bob", headers={TOKEN: blocked.headers[TOKEN]})

    assert read.status_code == 200
    assert read.headers["X-Consistency"] == "fresh"
    assert reads.calls == 1  # reached at the first look, not after a wait that ran out


async def test_a_block_that_changes_nothing_answers_without_a_token(stack: Stack, alice, bob):
    first = await stack.command.put("/command/v1/users/bob/block", headers=alice.auth)
    again = await stack.command.put("/command/v1/users/bob/block", headers=alice.auth)

    assert first.status_code == again.status_code == 204
    assert TOKEN in first.headers
    assert TOKEN not in again.headers


async def test_a_write_that_changes_nothing_reports_the_latest_cluster_time(stack: Stack):
    """The store behaves as a server here (the reason tokens are taken right after each write
    that changed something, not from the session at the end)."""
    mine, theirs = stack.database["session_writes"], stack.database["other_writes"]
    async with stack.database.client.start_session(causal_consistency=True) as session:
        await mine.insert_one({"_id": 1}, session=session)
        written = session.operation_time
        await theirs.insert_one({"_id": 1})  # another client, outside the session
        deleted = await mine.delete_many({"_id": 2}, session=session)
        after_the_no_op = session.operation_time

    assert deleted.deleted_count == 0
    assert after_the_no_op > written
