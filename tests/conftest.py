from collections.abc import AsyncIterator

import pytest

from tests.support import Stack, User, make_settings, running_stack


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    async with running_stack(make_settings()) as running:
        yield running


@pytest.fixture
async def alice(stack: Stack) -> User:
    return await stack.sign_up("alice", "Alice")


@pytest.fixture
async def bob(stack: Stack) -> User:
    return await stack.sign_up("bob", "Bob")
