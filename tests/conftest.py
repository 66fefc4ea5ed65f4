from collections.abc import AsyncIterator

import pytest

from tests.support import REAL_MONGODB_URI, Stack, User, make_settings, running_stack


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a real replica set (TEST_MONGODB_URI), tests of the embedded store itself do not apply;
    they are deselected (and counted as such), never reported as passed."""
    if REAL_MONGODB_URI is None:
        return
    embedded = [item for item in items if item.get_closest_marker("embedded_only")]
    if embedded:
        config.hook.pytest_deselected(items=embedded)
        items[:] = [item for item in items if item not in embedded]


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
