"""MongoDB commands observed through PyMongo's command monitoring: a latency histogram, and a
client span under the current span when tracing is on.

`CommandMonitor` is a `pymongo.monitoring.CommandListener`, registered on the process's
`AsyncMongoClient` (`service_kit/mongo/connection.py`). The embedded store emits the same events
to the same listener (`service_kit/mongo/embedded/monitoring.py`), so both stores feed the same
series through the same code. Listeners are called in the task that sends the command, so the
span of the request or the projected change that sent it is the current one.

A command is labelled by its collection (the command's target: `find: "posts"`, a getMore's
`collection`) or `$cmd` for a database command (`ping`, `renameCollection`, a database-wide
change stream's `aggregate: 1`), and by its name as the server knows it (`find`, `insert`,
`update`, `delete`, `findAndModify`, `aggregate`, `getMore`, ...). Spans are made only under a
recording span: the projector's idle getMores and checkpoints do not each start a trace.
"""

from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)

from service_kit.observability import tracing
from service_kit.observability.metrics import Telemetry

DATABASE_COMMAND = "$cmd"
# Commands whose target names the collection in another field than their own name, and those
# whose own field names something else (a namespace `db.coll`).
_COLLECTION_FIELD = {"getMore": "collection"}
_DATABASE_COMMANDS = frozenset({"renameCollection"})


@dataclass(frozen=True)
class _Started:
    collection: str
    span: Span | None


class CommandMonitor(CommandListener):
    def __init__(self, telemetry: Telemetry) -> None:
        self._seconds = telemetry.command_seconds
        # Commands under way, by (connection, request id): a succeeded or failed event names its
        # command only by those.
        self._started: dict[tuple[Any, int], _Started] = {}

    def started(self, event: CommandStartedEvent) -> None:
        collection = collection_of(event.command_name, event.command)
        span = None
        if tracing.enabled() and trace.get_current_span().is_recording():
            span = tracing.tracer().start_span(
                f"{event.command_name} {collection}",
                kind=SpanKind.CLIENT,
                attributes={
                    "db.system.name": "mongodb",
                    "db.namespace": event.database_name,
                    "db.collection.name": collection,
                    "db.operation.name": event.command_name,
                },
            )
        self._started[(event.connection_id, event.request_id)] = _Started(collection, span)

    def succeeded(self, event: CommandSucceededEvent) -> None:
        self._finish(event, "ok", None)

    def failed(self, event: CommandFailedEvent) -> None:
        self._finish(event, "error", event.failure)

    def _finish(
        self, event: CommandSucceededEvent | CommandFailedEvent, outcome: str, failure: Any
    ) -> None:
        started = self._started.pop((event.connection_id, event.request_id), None)
        collection = started.collection if started else DATABASE_COMMAND
        self._seconds.labels(collection, event.command_name, outcome).observe(
            event.duration_micros / 1_000_000
        )
        if started is not None and started.span is not None:
            if failure is not None:
                code = failure.get("code") if isinstance(failure, dict) else None
                started.span.set_status(Status(StatusCode.ERROR, f"code {code}"))
            started.span.end()


def collection_of(command_name: str, command: Any) -> str:
    if command_name in _DATABASE_COMMANDS:
        return DATABASE_COMMAND
    target = command.get(_COLLECTION_FIELD.get(command_name, command_name)) if command else None
    if isinstance(target, str) and target and not target.startswith(DATABASE_COMMAND):
        return target
    return DATABASE_COMMAND
