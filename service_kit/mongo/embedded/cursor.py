"""Cursors of the embedded store, with the surface of PyMongo's async cursors that code uses.

A cursor runs its query at its first fetch, in one synchronous step (one server operation), after
letting other tasks run. Iterating it lets them run again once per batch, like a getMore.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Self

from pymongo.errors import InvalidOperation

from service_kit.mongo.embedded.operations import Sort, sort_of

Document = dict[str, Any]
Pause = Callable[[], Awaitable[None]]

# PyMongo's default first batch; later batches are bounded by size, this is close enough.
BATCH_SIZE = 101


class EmbeddedCommandCursor:
    """Results computed by one command (`aggregate`, `list_indexes`), handed out in batches."""

    def __init__(self, pause: Pause, results: Iterable[Document] | None = None) -> None:
        self._pause = pause
        self._results: deque[Document] | None = None if results is None else deque(results)
        self._handed_out = 0

    def _load(self) -> Iterable[Document]:
        raise InvalidOperation("a command cursor has its results from the start")

    async def _ensure_fetched(self) -> deque[Document]:
        if self._results is None:
            await self._pause()
            self._results = deque(self._load())
            await self._pause()
        return self._results

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Document:
        results = await self._ensure_fetched()
        if not results:
            raise StopAsyncIteration
        self._handed_out += 1
        if self._handed_out % BATCH_SIZE == 0:
            await self._pause()  # the next batch: a getMore, where other clients run
        return results.popleft()

    async def next(self) -> Document:
        return await self.__anext__()

    async def to_list(self, length: int | None = None) -> list[Document]:
        results = await self._ensure_fetched()
        count = len(results) if length is None else min(length, len(results))
        return [results.popleft() for _ in range(count)]

    async def close(self) -> None:
        self._results = deque()


class EmbeddedCursor(EmbeddedCommandCursor):
    """The cursor of `find()`: `sort`, `skip` and `limit` chain until the first fetch."""

    def __init__(
        self, pause: Pause, mock_cursor: Any, on_fetch: Callable[[Sort], None] | None = None
    ) -> None:
        super().__init__(pause)
        self._mock_cursor = mock_cursor
        self._on_fetch = on_fetch
        self._sort: Sort = ()

    def _load(self) -> Iterable[Document]:
        if self._on_fetch is not None:  # the query runs now: one round trip, with its sort
            self._on_fetch(self._sort)
        return list(self._mock_cursor)

    def _chain(self, method: str, *args: Any, **kwargs: Any) -> Self:
        if self._results is not None:
            raise InvalidOperation("cannot set options after executing query")
        getattr(self._mock_cursor, method)(*args, **kwargs)
        return self

    def sort(self, key_or_list: Any, direction: int | None = None) -> Self:
        self._sort = sort_of(key_or_list, direction)
        if direction is None:
            return self._chain("sort", key_or_list)
        return self._chain("sort", key_or_list, direction)

    def skip(self, skip: int) -> Self:
        return self._chain("skip", skip)

    def limit(self, limit: int) -> Self:
        return self._chain("limit", limit)

    def max_time_ms(self, max_time_ms: int | None) -> Self:
        return self._chain("max_time_ms", max_time_ms)

    def hint(self, index: Any) -> Self:
        return self._chain("hint", index)

    def comment(self, comment: Any) -> Self:
        """Accepted for compatibility; there is no profiler to show it in."""
        return self

    def allow_disk_use(self, allow_disk_use: bool) -> Self:
        return self._chain("allow_disk_use", allow_disk_use)

    def batch_size(self, batch_size: int) -> Self:
        """Accepted for compatibility; batches here only mark where other tasks may run."""
        return self
