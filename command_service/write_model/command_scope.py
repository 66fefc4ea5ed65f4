"""One causally consistent session per command, so its response can carry the write's cluster time.

`command_scope` opens the session around a request; write-model functions pass
`**session_options()` to each driver write and call `wrote()` right after a write that really
changed something (an idempotent repeat changes nothing, and there is nothing to wait for).
What they write goes through `stamped()`, which adds the request's stamp (`_trace`: its request id
and trace context), so that the projector continues the request's trace for the change.

The token names the last write that changed something, not the session's latest operation: on a
server, a write that changes nothing (a `delete_many` that matches nothing) reports the latest
applied cluster time as its `operationTime`. That time may be later than every change the
projector will ever see, so a query waiting for it would wait in vain and answer `stale`.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from bson.timestamp import Timestamp

from service_kit.mongo import Database
from service_kit.observability.context import current_request_id
from service_kit.observability.tracing import TRACE_FIELD, write_stamp


@dataclass
class CommandScope:
    session: Any  # pymongo's AsyncClientSession (or the embedded store's)
    # The cluster time of the command's latest write that changed something.
    cluster_time: Timestamp | None = None


_scope: ContextVar[CommandScope | None] = ContextVar("command_scope", default=None)


@asynccontextmanager
async def command_scope(database: Database) -> AsyncIterator[CommandScope]:
    async with database.client.start_session(causal_consistency=True) as session:
        scope = CommandScope(session)
        reset = _scope.set(scope)
        try:
            yield scope
        finally:
            _scope.reset(reset)


def session_options() -> dict[str, Any]:
    scope = _scope.get()
    return {"session": scope.session} if scope is not None else {}


def wrote() -> None:
    """Call right after a write through `session_options()` that changed something: the session's
    operation time is then that write's cluster time."""
    scope = _scope.get()
    if scope is not None:
        scope.cluster_time = scope.session.operation_time


def stamped(fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` (a document, or what an update sets) with the request's stamp, if there is one
    (`service_kit/observability/tracing.py`); unchanged outside a request."""
    stamp = write_stamp(current_request_id())
    return {**fields, TRACE_FIELD: stamp} if stamp else fields
