"""A projector told to stop while a handler is busy stops, rather than retrying the change."""

import asyncio

import pytest

from query_service.projector import dead_letters
from query_service.read_models.timelines import TimelinesProjection
from tests.support import Stack, User


async def test_cancelling_a_change_being_applied_cancels_it_instead_of_retrying_it(
    stack: Stack, alice: User, monkeypatch
):
    calls = 0
    never = asyncio.Event()

    async def hangs(self, context, change):
        nonlocal calls
        calls += 1
        await never.wait()

    await stack.settle()
    await alice.post("hello")
    monkeypatch.setattr(TimelinesProjection, "apply", hangs)
    settling = asyncio.create_task(stack.settle())
    async with asyncio.timeout(10):
        while calls == 0:  # noqa: ASYNC110 (another task's state)
            await asyncio.sleep(0.01)

    settling.cancel()
    done, _ = await asyncio.wait({settling}, timeout=5)
    never.set()  # lets a projector that swallowed the cancellation finish
    assert done, "the cancellation was swallowed: the handler is being retried"
    with pytest.raises(asyncio.CancelledError):
        await settling
    assert calls == 1
    assert await dead_letters.list_parked(stack.database) == []
