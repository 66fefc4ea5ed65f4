import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import settings

from service_kit.mongo.embedded.operations import Operation, observe_operations
from tests import index_hygiene
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


# ---- index hygiene: every query shape of the whole run must be served by a declared index ------

_operations: list[Operation] = []
_observing: contextlib.ExitStack | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _observing
    if REAL_MONGODB_URI is None and _whole_suite(config):
        _observing = contextlib.ExitStack()
        _observing.enter_context(observe_operations(_keep_application_operation))


def _keep_application_operation(operation: Operation) -> None:
    if index_hygiene.is_application(operation):
        _operations.append(operation)


def _whole_suite(config: pytest.Config) -> bool:
    """Only a run of every test knows every query shape (and which indexes none uses)."""
    option = config.option
    return (
        config.args_source == pytest.Config.ArgsSource.TESTPATHS
        and not option.keyword
        and not option.markexpr
        and not option.deselect
        and not getattr(option, "lf", False)
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _observing is None:
        return
    _observing.close()
    report = index_hygiene.check(_operations)
    session.config.stash[_hygiene_key] = report
    if report.unserved and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    report = config.stash.get(_hygiene_key, None)
    if report is None:
        return
    write = terminalreporter.write_line
    write(f"index hygiene: {report.shapes} query shapes from application code checked")
    for line in report.unserved:
        write(f"  NOT SERVED BY A DECLARED INDEX: {line}", red=True)
    for line in report.unused:
        write(f"  declared but used by no query: {line}", yellow=True)
    if report.unserved:
        write("index hygiene FAILED: declare an index for each shape above", red=True, bold=True)


_hygiene_key = pytest.StashKey[index_hygiene.Report]()
