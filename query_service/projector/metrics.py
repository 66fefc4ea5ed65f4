"""The projector's Prometheus metrics, defined once; each `Projector` owns a registry of them.

A registry per projector (not prometheus_client's global one) lets tests and the embedded gateway
run several projectors in one process without their series colliding.

`microblog_projector_lag_seconds` is how far the read models are behind the write model: wall time
now minus the write time (`wallTime`, else `clusterTime`) of the oldest change that is known to be
waiting, computed at scrape time (`Lag` below):
- 0 while the stream is idle (its last read came back empty: nothing is waiting);
- while a change read from the stream is not yet applied (or parked): now minus that change's
  write time, so it grows as long as a handler hangs or retries;
- between a change applied and the next read: now minus the last applied change's write time;
- during a rebuild: at least the time since the rebuild began (the live read models are frozen
  until the swap); 0 again once the rebuilt models are swapped in, caught up.
Clock skew between MongoDB and the projector is clamped at 0.

`microblog_projector_write_to_visible_seconds` is the CQRS service level: for each change applied
from the stream to the live read models, the time from its write (`wallTime`, else
`clusterTime`) to the end of its application, when every read-model write it makes (its
timelines' fan-out included) is done and readers see it. By collection and operation, like
`changes_applied`. Changes applied to a rebuild's shadows are not observed (they become visible
all at once, at the swap), nor are parked changes replayed by an operator.
"""

import asyncio
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from query_service.projector import dead_letters
from service_kit.mongo import Database
from service_kit.observability.metrics import Telemetry, exposition

log = logging.getLogger(__name__)
Clock = Callable[[], float]
# A scrape must answer even when MongoDB does not; the parked count is then NaN.
COUNT_TIMEOUT_SECONDS = 2.0
# Write→visible: milliseconds when the projector keeps up (PROJECTOR_MAX_AWAIT_MS bounds how long
# a change waits for its batch), minutes behind a rebuild or an outage.
VISIBLE_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)


def written_at(change: dict[str, Any]) -> float | None:
    """When a change was written, in Unix seconds: its `wallTime`, else its `clusterTime`."""
    wall = change.get("wallTime")
    if isinstance(wall, datetime):
        # PyMongo gives naive UTC datetimes unless the client is tz_aware.
        return (wall if wall.tzinfo else wall.replace(tzinfo=UTC)).timestamp()
    cluster_time = change.get("clusterTime")
    return float(cluster_time.time) if cluster_time is not None else None


class Lag:
    """How far the live read models are behind; the loop tells it what it reads and applies."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._idle = False
        # Write time of the oldest change known to be waiting (read, or frozen out by a rebuild).
        self._waiting_since: float | None = None
        self._last_applied: float | None = None

    def read(self, change: dict[str, Any]) -> None:
        """A change came off the stream and is about to be applied."""
        self._idle = False
        if self._waiting_since is None:
            self._waiting_since = written_at(change) or self._clock()

    def passed(self, change: dict[str, Any]) -> None:
        """The change is applied (or parked): the read models no longer wait for it."""
        self._last_applied = written_at(change) or self._clock()
        self._waiting_since = None

    def idle(self) -> None:
        """A read of the stream came back empty: nothing is waiting."""
        self._idle, self._waiting_since = True, None

    def rebuilding(self) -> None:
        """The live read models stop following until the rebuilt ones are swapped in."""
        if self._waiting_since is None:
            self._waiting_since = self._clock()
        self._idle = False

    def seconds(self) -> float:
        if self._idle:
            return 0.0
        since = self._waiting_since if self._waiting_since is not None else self._last_applied
        if since is None:  # nothing read yet
            return 0.0
        return max(0.0, self._clock() - since)


class ProjectorMetrics:
    """Every series of one projector, in its own registry."""

    def __init__(self, clock: Clock = time.time) -> None:
        self.registry = CollectorRegistry()
        self._clock = clock
        self.lag = Lag(clock)
        registry = self.registry
        Gauge(
            "microblog_projector_lag_seconds",
            "How far the read models are behind the write model: now minus the write time of "
            "the oldest change waiting to be applied; 0 when the stream is idle.",
            registry=registry,
        ).set_function(self.lag.seconds)
        self.changes_applied = Counter(
            "microblog_projector_changes_applied",
            "Change-stream events applied to the read models, by write-model collection and "
            "operation type.",
            ["collection", "operation"],
            registry=registry,
        )
        self.fanout_writes = Counter(
            "microblog_projector_fanout_writes",
            "Timeline entries upserted by fan-out of new posts and backfill of follows.",
            registry=registry,
        )
        self.rebuilds = Counter(
            "microblog_projector_rebuilds",
            "Rebuilds of the read models, by outcome.",
            ["outcome"],
            registry=registry,
        )
        for outcome in ("done", "failed"):
            self.rebuilds.labels(outcome=outcome)
        self.dead_letters = Counter(
            "microblog_projector_dead_letters",
            "Changes parked in the dead letters after failing every attempt.",
            registry=registry,
        )
        self.parked_changes = Gauge(
            "microblog_projector_parked_changes",
            "Changes in the dead letters now (counted at scrape time; NaN if MongoDB does not "
            "answer).",
            registry=registry,
        )
        self.leader = Gauge(
            "microblog_projector_leader",
            "1 while this process is the one projecting, else 0.",
            registry=registry,
        )
        self.batch_seconds = Histogram(
            "microblog_projector_batch_seconds",
            "Time to apply one batch of changes, from its first change read to its checkpoint.",
            registry=registry,
        )
        self.write_to_visible = Histogram(
            "microblog_projector_write_to_visible_seconds",
            "From a change's write (its wallTime) to the end of its application to the live "
            "read models, by write-model collection and operation type.",
            ["collection", "operation"],
            buckets=VISIBLE_BUCKETS,
            registry=registry,
        )

    def applied(self, change: dict[str, Any]) -> None:
        collection = change.get("ns", {}).get("coll", "")
        self.changes_applied.labels(collection, change["operationType"]).inc()

    def visible(self, change: dict[str, Any]) -> None:
        """The change is applied to the live read models: readers see it now."""
        written = written_at(change)
        if written is None:
            return
        collection = change.get("ns", {}).get("coll", "")
        self.write_to_visible.labels(collection, change["operationType"]).observe(
            max(0.0, self._clock() - written)
        )

    def fanned_out(self, entries: int) -> None:
        self.fanout_writes.inc(entries)

    def set_leader(self, leading: bool) -> None:
        """For leader election: 1 while this process holds the lease and projects."""
        self.leader.set(1 if leading else 0)


async def scrape(
    metrics: ProjectorMetrics, database: Database, accept: str, telemetry: Telemetry | None = None
) -> tuple[bytes, str]:
    """The exposition a `/metrics` request gets (format negotiated from `Accept`, the classic
    `text/plain; version=0.0.4` by default) and its content type: the projector's series, and
    its process's (`telemetry`: requests, MongoDB commands) when given."""
    try:
        async with asyncio.timeout(COUNT_TIMEOUT_SECONDS):
            parked: float = await dead_letters.count_parked(database)
    except Exception as error:  # the other series are still worth serving
        log.warning("metrics: counting parked changes failed: %r", error)
        parked = math.nan
    metrics.parked_changes.set(parked)
    registries = [metrics.registry] + ([telemetry.registry] if telemetry is not None else [])
    return exposition(registries, accept)
