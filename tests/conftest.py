import os
from collections.abc import AsyncIterator

import pytest
from hypothesis import settings

from tests.support import Stack, User, make_settings, running_stack

# CI runs the fuzz tests with a fixed seed, so a red build is reproducible; locally they explore.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


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
