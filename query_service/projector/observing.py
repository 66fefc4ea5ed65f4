"""What the projector tells operators about the changes it applies: their traces and its batches.

The runner calls this at two points: where a change read from the stream is applied
(`applying`), and where a batch is done (`BatchReport`). A timeline bulk write reports itself
(`read_models/timeline_entries.Bulk.flush`). Write→visible latency is a series of its own
(`ProjectorMetrics.visible`).

**Traces.** A change's write-model document carries the stamp of the request that wrote it
(`service_kit/observability/tracing.py`). Applying the change continues that request's trace with
two spans under the request's span: `change stream` from the write (the change's `wallTime`, on
the server's clock) to the moment the projector read it, and `project <collection> <operation>`
around its application, under which its MongoDB commands and its timelines' bulk writes
(`timeline bulk write`, with the entries they upsert) appear. One trace then shows the POST, its
commit, the wait in the change stream, the projection and the timelines it reached. A change
without a stamp (a delete: its event carries only the document's key; a write made outside a
request) starts a trace of its own.

**Logs.** One JSON line per batch: `changes` applied, `duration_ms`, `lag_seconds`, the changes
by `collection.operation`, the `request_ids` they came from (each once) and whether the batch
went to a rebuild's shadows.
"""

import logging
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from opentelemetry.trace import SpanKind

from query_service.projector.projection import Change
from service_kit.observability import tracing

log = logging.getLogger("microblog.projector")


@contextmanager
def applying(change: Change, read_at_ns: int) -> Iterator[None]:
    """Around the application of `change`, read from the stream at `read_at_ns` (time.time_ns)."""
    if not tracing.enabled():
        yield
        return
    stamp = tracing.stamp_of(change)
    parent = tracing.continued(stamp)
    collection = change.get("ns", {}).get("coll", "")
    operation = change.get("operationType", "")
    attributes: dict[str, Any] = {
        "microblog.change.collection": collection,
        "microblog.change.operation": operation,
    }
    if stamp is not None and isinstance(stamp.get("request_id"), str):
        attributes["microblog.request_id"] = stamp["request_id"]
    tracer = tracing.tracer()
    written_ns = _written_ns(change)
    if written_ns is not None:
        waited = tracer.start_span(
            "change stream",
            context=parent,
            kind=SpanKind.CONSUMER,
            start_time=min(written_ns, read_at_ns),  # clocks of two machines: never negative
            attributes=attributes,
        )
        waited.end(end_time=read_at_ns)
    with tracer.start_as_current_span(
        f"project {collection} {operation}", context=parent, attributes=attributes
    ):
        yield


def _written_ns(change: Change) -> int | None:
    wall = change.get("wallTime")
    if isinstance(wall, datetime):
        aware = wall if wall.tzinfo else wall.replace(tzinfo=UTC)
        return int(aware.timestamp() * 1_000_000_000)
    cluster_time = change.get("clusterTime")
    return int(cluster_time.time) * 1_000_000_000 if cluster_time is not None else None


class BatchReport:
    """What one batch did, logged as one line when it is done."""

    def __init__(self, *, rebuild: bool) -> None:
        self._rebuild = rebuild
        self._by_type: Counter[str] = Counter()
        self._request_ids: dict[str, None] = {}  # in order, each once

    def read(self, change: Change) -> None:
        self._by_type[f"{change.get('ns', {}).get('coll', '')}.{change['operationType']}"] += 1
        stamp = tracing.stamp_of(change)
        request_id = stamp.get("request_id") if stamp is not None else None
        if isinstance(request_id, str):
            self._request_ids[request_id] = None

    def done(self, *, applied: int, seconds: float, lag_seconds: float) -> None:
        log.info(
            "batch",
            extra={
                "changes": applied,
                "duration_ms": round(seconds * 1000, 3),
                "lag_seconds": round(lag_seconds, 3),
                "by_type": dict(self._by_type),
                "request_ids": list(self._request_ids),
                "rebuild": self._rebuild,
            },
        )


def now_ns() -> int:
    return time.time_ns()
