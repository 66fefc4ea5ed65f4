"""Change streams for the embedded store, shaped and resumed like MongoDB's.

`ChangeLog` stands in for the oplog: every write through the embedded collections appends one
event, with a resume token (`_id`), `operationType`, `clusterTime`, `wallTime`, `ns`,
`documentKey` and, by operation, `fullDocument` or `updateDescription`. The log keeps a bounded
history (the "oplog window"); resuming from a token whose successors have been evicted fails with
error 286 `ChangeStreamHistoryLost`, exactly as a real server does.

`EmbeddedChangeStream` offers the surface of `pymongo.asynchronous.change_stream.AsyncChangeStream`
that consumers use: `next`, `try_next`, `async for`, `resume_token`, `alive`, `close` and
`async with`. `fullDocument` for `updateLookup` is read when the event is returned, so it can be
newer than the change or `None`, as on a server.

Stream-ending events follow the server: a collection stream sees `drop` or `rename` of its
collection (as source or target) and then `invalidate`; a database stream sees every `drop` of a
`dropDatabase`, the `dropDatabase` itself, then `invalidate`. `invalidate` closes the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bson.timestamp import Timestamp
from mongomock.filtering import filter_applies
from pymongo.errors import OperationFailure

CHANGE_STREAM_HISTORY_LOST = 286
INVALID_RESUME_TOKEN = 260
BAD_VALUE = 2
INVALID_OPTIONS = 72

_TOKEN_PREFIX = "82"  # noqa: S105 (not a secret); real tokens are hex strings too; the prefix only makes them look alike


# An invalidate's token differs from its cause's (as a server's does), so that `resume_after`
# can refuse it while `start_after` accepts it.
_INVALIDATE_SUFFIX = "01"
_SEQUENCE_DIGITS = 16


def resume_token(sequence: int, *, invalidate: bool = False) -> dict[str, str]:
    suffix = _INVALIDATE_SUFFIX if invalidate else ""
    return {"_data": f"{_TOKEN_PREFIX}{sequence:0{_SEQUENCE_DIGITS}X}{suffix}"}


def parse_token(token: Mapping[str, Any]) -> tuple[int, bool]:
    """The sequence a token stands after, and whether it is an invalidate's."""
    data = token.get("_data") if isinstance(token, Mapping) else None
    if not isinstance(data, str) or not data.startswith(_TOKEN_PREFIX):
        raise OperationFailure("resume token is not a valid token", code=BAD_VALUE)
    digits = data[len(_TOKEN_PREFIX) : len(_TOKEN_PREFIX) + _SEQUENCE_DIGITS]
    suffix = data[len(_TOKEN_PREFIX) + _SEQUENCE_DIGITS :]
    try:
        sequence = int(digits, 16)
    except ValueError:
        raise OperationFailure("resume token is not a valid token", code=BAD_VALUE) from None
    if len(digits) != _SEQUENCE_DIGITS or suffix not in ("", _INVALIDATE_SUFFIX):
        raise OperationFailure("resume token is not a valid token", code=BAD_VALUE)
    return sequence, suffix == _INVALIDATE_SUFFIX


@dataclass(frozen=True)
class LoggedChange:
    sequence: int
    event: dict[str, Any]


@dataclass
class ChangeLog:
    """The ordered history of changes of one embedded deployment."""

    history: int
    _changes: deque[LoggedChange] = field(init=False)
    _last_sequence: int = field(default=0, init=False)
    # Before any change, "now" with increment 0: earlier than every change still to come, so
    # `start_at_operation_time` at it delivers them all (see `last_time`).
    _last_time: Timestamp = field(
        default_factory=lambda: Timestamp(int(time.time()), 0), init=False
    )
    _appended: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    def __post_init__(self) -> None:
        self._changes = deque(maxlen=self.history)

    @property
    def last_sequence(self) -> int:
        return self._last_sequence

    @property
    def first_kept_sequence(self) -> int:
        return self._changes[0].sequence if self._changes else self._last_sequence + 1

    @property
    def last_time(self) -> Timestamp:
        """The cluster time of the latest change: what a command reports as `operationTime`."""
        return self._last_time

    def cluster_time(self) -> Timestamp:
        """The next cluster time: seconds since the epoch plus an increment, strictly rising."""
        now = int(time.time())
        if now > self._last_time.time:
            return Timestamp(now, 1)
        return Timestamp(self._last_time.time, self._last_time.inc + 1)

    def append(
        self,
        operation: str,
        db: str,
        coll: str | None = None,
        document_key: dict[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        """Record one change. `dropDatabase` has no `coll`; `drop`, `rename` and `dropDatabase`
        have no `documentKey`, as on a server."""
        self._last_sequence += 1
        self._last_time = self.cluster_time()
        event: dict[str, Any] = {
            "_id": resume_token(self._last_sequence),
            "operationType": operation,
            "clusterTime": self._last_time,
            "wallTime": datetime.now(UTC),
            "ns": {"db": db} if coll is None else {"db": db, "coll": coll},
        }
        if document_key is not None:
            event["documentKey"] = copy.deepcopy(document_key)
        event.update(copy.deepcopy(extra))
        self._changes.append(LoggedChange(self._last_sequence, event))
        # Wake every waiting stream, then arm a fresh event for the next append.
        self._appended.set()
        self._appended = asyncio.Event()

    def start_after_sequence(self, sequence: int) -> int:
        """Check that every change after `sequence` is still kept; return the start point."""
        if sequence > self._last_sequence:
            raise OperationFailure("resume token is from the future", code=BAD_VALUE)
        if self.first_kept_sequence > sequence + 1:
            raise OperationFailure(
                "Resume of change stream was not possible, as the resume point may no longer "
                "be in the oplog.",
                code=CHANGE_STREAM_HISTORY_LOST,
                details={"codeName": "ChangeStreamHistoryLost"},
            )
        return sequence

    def sequence_before(self, operation_time: Timestamp) -> int:
        """The start point for `start_at_operation_time`: just before the first change at it."""
        if (
            self._changes
            and self._changes[0].sequence > 1
            and self._changes[0].event["clusterTime"] > operation_time
        ):
            raise OperationFailure(
                "Resume of change stream was not possible, as the resume point may no longer "
                "be in the oplog.",
                code=CHANGE_STREAM_HISTORY_LOST,
                details={"codeName": "ChangeStreamHistoryLost"},
            )
        for change in self._changes:
            if change.event["clusterTime"] >= operation_time:
                return change.sequence - 1
        return self._last_sequence

    def after(self, sequence: int) -> list[LoggedChange]:
        if self.first_kept_sequence > sequence + 1:
            raise OperationFailure(
                "Change stream fell off the end of the oplog",
                code=CHANGE_STREAM_HISTORY_LOST,
                details={"codeName": "ChangeStreamHistoryLost"},
            )
        offset = sequence + 1 - self.first_kept_sequence
        return [self._changes[i] for i in range(max(offset, 0), len(self._changes))]

    async def wait_for_append(self, after_sequence: int, seconds: float) -> None:
        """Wait for a change after `after_sequence`, at most `seconds` (like a getMore)."""
        if self._last_sequence > after_sequence:
            return
        appended = self._appended
        # Not `asyncio.wait_for`: on Python 3.11 it returns normally when the wait completes in
        # the same step as a cancellation of its caller, and the cancellation is lost (the crash
        # harness counted such kills as "swallowed"). `asyncio.timeout` never loses one.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await appended.wait()


LookupDocument = Callable[[str, dict[str, Any]], dict[str, Any] | None]
Pause = Callable[[], Awaitable[None]]


async def _no_pause() -> None:
    """The default pause: none (see `EmbeddedClient.pause` for the interleaving one)."""


class EmbeddedChangeStream:
    """A change stream over a `ChangeLog`, with pymongo's async change stream surface."""

    def __init__(
        self,
        log: ChangeLog,
        *,
        db: str,
        coll: str | None,
        pipeline: list[Mapping[str, Any]] | None,
        full_document: str | None,
        resume_after: Mapping[str, Any] | None,
        start_after: Mapping[str, Any] | None,
        start_at_operation_time: Timestamp | None,
        max_await_time_ms: int | None,
        batch_size: int | None,
        lookup: LookupDocument,
        pause: Pause = _no_pause,
    ) -> None:
        chosen = [o for o in (resume_after, start_after, start_at_operation_time) if o is not None]
        if len(chosen) > 1:
            raise OperationFailure(
                "Only one of resumeAfter, startAfter and startAtOperationTime may be given",
                code=INVALID_OPTIONS,
            )
        if full_document not in (None, "default", "updateLookup"):
            raise OperationFailure(
                f"unsupported fullDocument option {full_document!r}", code=BAD_VALUE
            )
        self._log = log
        self._db = db
        self._coll = coll
        self._match = _match_filter(pipeline or [])
        self._lookup_full_document = full_document == "updateLookup"
        self._max_await = (max_await_time_ms if max_await_time_ms is not None else 1000) / 1000
        self._batch_size = batch_size or 1000
        self._lookup = lookup
        self._pause = pause
        self._buffer: deque[dict[str, Any]] = deque()
        self._alive = True

        token = resume_after if resume_after is not None else start_after
        if token is not None:
            sequence, invalidated = parse_token(token)
            if invalidated and resume_after is not None:
                raise OperationFailure(
                    "Attempting to resume a change stream using 'resumeAfter' is not allowed "
                    "from an invalidate notification.",
                    code=INVALID_RESUME_TOKEN,
                )
            self._position = log.start_after_sequence(sequence)
        elif start_at_operation_time is not None:
            self._position = log.sequence_before(start_at_operation_time)
        else:
            self._position = log.last_sequence
        # Like the server's postBatchResumeToken: a stream has a resume token from its start.
        self._resume_token: dict[str, str] | None = (
            dict(token) if token is not None else resume_token(self._position)
        )

    @property
    def alive(self) -> bool:
        return self._alive

    @property
    def resume_token(self) -> dict[str, str] | None:
        return copy.deepcopy(self._resume_token)

    async def try_next(self) -> dict[str, Any] | None:
        """The next change, or None if none arrives within one "getMore" wait or the stream is closed."""
        if not self._alive:
            return None
        # Other clients run between two getMores, never inside one.
        await self._pause()
        change = await self._next_buffered()
        await self._pause()
        return change

    async def _next_buffered(self) -> dict[str, Any] | None:
        if not self._buffer:
            self._fill_buffer()
            if not self._buffer:
                await self._log.wait_for_append(self._position, self._max_await)
                self._fill_buffer()
        if not self._buffer:
            # An empty batch still advances the token past changes the pipeline filtered out.
            self._resume_token = resume_token(self._position)
            return None
        change = self._buffer.popleft()
        self._resume_token = change["_id"]
        if change["operationType"] == "invalidate":
            self._alive = False
        return change

    async def next(self) -> dict[str, Any]:
        while self._alive:
            change = await self.try_next()
            if change is not None:
                return change
        raise StopAsyncIteration

    def __aiter__(self) -> EmbeddedChangeStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        return await self.next()

    async def close(self) -> None:
        self._alive = False

    async def __aenter__(self) -> EmbeddedChangeStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _fill_buffer(self) -> None:
        """One batch, built synchronously: `updateLookup` reads happen atomically with it."""
        for logged in self._log.after(self._position):
            if len(self._buffer) >= self._batch_size:
                break
            self._position = logged.sequence
            if not self._concerns(logged.event):
                continue
            change = self._visible_change(logged.event)
            if change is not None:
                self._buffer.append(change)
            if self._ends_stream(logged.event):
                # Not subject to the pipeline's $match: the stream ends either way.
                self._buffer.append(_invalidate(logged))
                break

    def _concerns(self, event: dict[str, Any]) -> bool:
        """Whether the event is about the watched database or collection (for a rename, as its
        source or its target)."""
        namespaces = [event["ns"]]
        if event["operationType"] == "rename":
            namespaces.append(event["to"])
        return any(
            ns["db"] == self._db and (self._coll is None or ns.get("coll") == self._coll)
            for ns in namespaces
        )

    def _ends_stream(self, event: dict[str, Any]) -> bool:
        if self._coll is None:
            return bool(event["operationType"] == "dropDatabase")
        return event["operationType"] in ("drop", "rename")

    def _visible_change(self, event: dict[str, Any]) -> dict[str, Any] | None:
        change = copy.deepcopy(event)
        if change["operationType"] == "update" and self._lookup_full_document:
            change["fullDocument"] = self._lookup(change["ns"]["coll"], change["documentKey"])
        if self._match is not None and not filter_applies(self._match, change):
            return None
        return change


def _invalidate(cause: LoggedChange) -> dict[str, Any]:
    """The event that closes a stream, at its cause's time: `start_after` with its token opens a
    new stream just after the cause; `resume_after` refuses it, as a server does."""
    return {
        "_id": resume_token(cause.sequence, invalidate=True),
        "operationType": "invalidate",
        "clusterTime": cause.event["clusterTime"],
        "wallTime": cause.event["wallTime"],
    }


def _match_filter(pipeline: list[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Change streams accept a pipeline; the emulation supports the `$match` stages of one."""
    clauses: list[Mapping[str, Any]] = []
    for stage in pipeline:
        if set(stage) != {"$match"}:
            raise OperationFailure(
                f"the embedded change stream supports only $match stages, not {list(stage)}",
                code=BAD_VALUE,
            )
        clauses.append(stage["$match"])
    if not clauses:
        return None
    return dict(clauses[0]) if len(clauses) == 1 else {"$and": clauses}
