"""What the embedded store was asked to do: one `Operation` per round trip, with its query shape.

Tests use it two ways. `counting_operations()` counts the round trips of one piece of work (an API
call, a projected change), so operation budgets can be asserted. `observe_operations()` sees every
operation with its filter and sort, which is how the index-hygiene check learns every query shape
the services and the projector issue. A bulk write is one round trip carrying several shapes.
"""

import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

Sort = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class QueryShape:
    filter: Mapping[str, Any]
    sort: Sort = ()


@dataclass(frozen=True)
class Operation:
    database: str
    collection: str
    kind: str  # find, find_one, count, update, delete, insert, bulk_write, command, ...
    shapes: tuple[QueryShape, ...] = ()
    # The file of the code that asked for it (outside this package), when someone observes.
    origin: str = ""


@dataclass
class OperationCount:
    operations: list[Operation] = field(default_factory=list)

    @property
    def round_trips(self) -> int:
        return len(self.operations)

    @property
    def by_collection(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for operation in self.operations:
            counts[operation.collection] = counts.get(operation.collection, 0) + 1
        return counts


_counting: ContextVar[OperationCount | None] = ContextVar("embedded_operations", default=None)
_observers: list[Callable[[Operation], None]] = []


def record(operation: Operation) -> None:
    count = _counting.get()
    if count is not None:
        count.operations.append(operation)
    if _observers:
        operation = replace(operation, origin=_caller_file())
        for observer in _observers:
            observer(operation)


_PLUMBING = (str(Path(__file__).parent), "asyncio", "functools.py", "contextlib.py")


def _caller_file() -> str:
    """The first frame outside the store and the event loop: who issued the operation."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if not any(part in name for part in _PLUMBING):
            return name
        frame = frame.f_back  # type: ignore[assignment]
    return ""


@contextmanager
def counting_operations() -> Iterator[OperationCount]:
    """Count the round trips made inside the block (by this task and the tasks it starts)."""
    count = OperationCount()
    reset = _counting.set(count)
    try:
        yield count
    finally:
        _counting.reset(reset)


@contextmanager
def observe_operations(observer: Callable[[Operation], None]) -> Iterator[None]:
    """Let `observer` see every operation of every embedded store while the block runs."""
    _observers.append(observer)
    try:
        yield
    finally:
        _observers.remove(observer)


def sort_of(key_or_list: Any, direction: int | None = None) -> Sort:
    """A cursor's or an option's sort, in PyMongo's accepted spellings, as ((field, dir), ...)."""
    if key_or_list is None:
        return ()
    if isinstance(key_or_list, str):
        return ((key_or_list, direction if direction is not None else 1),)
    if isinstance(key_or_list, Mapping):
        return tuple((str(k), int(v)) for k, v in key_or_list.items())
    pairs: Sequence[Any] = key_or_list
    return tuple((str(k), int(v)) for k, v in pairs)
