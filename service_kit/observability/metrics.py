"""A process's Prometheus series: its requests, its MongoDB commands and its rate limits.

Each process has one `Telemetry` (its own registry, not prometheus_client's global one, so tests
and the embedded gateway can run several stacks in one process without their series colliding).
It travels with the process's MongoDB connection (`service_kit.mongo.MongoConnection`), because
the driver's command listener that feeds it is registered when the client is created; the apps
on that connection record their requests in it. The projector keeps its own series in its own
registry (`query_service/projector/metrics.py`); `/metrics` serves both (`exposition`).

Names follow Prometheus' conventions: the unit in the name (`_seconds`), `_total` for counters,
base units. Labels are bounded: a route is its template (`/query/v1/posts/{post_id}`), never the
raw path; a request that matched no route is `unmatched`.
"""

from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

# From a cached read (about 1 ms) to a sign-in's Argon2 hash and a query waiting for a consistency
# token (up to CONSISTENCY_WAIT_MS, 2 s by default).
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A MongoDB command: from a point read by `_id` (a network round trip, under a millisecond) to a
# fan-out bulk write of PROJECTOR_FANOUT_CHUNK entries or an idle change stream's getMore
# (PROJECTOR_MAX_AWAIT_MS). Few buckets: every collection and command has a series of each.
COMMAND_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)
RATE_LIMITS = ("sign-up-ip", "sign-in-ip", "sign-in-handle", "refresh-ip", "writes")


class Telemetry:
    """Every series of one process but the projector's, in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.request_seconds = Histogram(
            "microblog_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response, by service, route "
            "template, method and status.",
            ["service", "route", "method", "status"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self.requests_in_flight = Gauge(
            "microblog_http_requests_in_flight",
            "Requests being answered now, by service.",
            ["service"],
            registry=registry,
        )
        self.command_seconds = Histogram(
            "microblog_mongodb_command_duration_seconds",
            "MongoDB commands from PyMongo's command monitoring (or the embedded store's same "
            "events), by collection, command and outcome.",
            ["collection", "operation", "outcome"],
            buckets=COMMAND_BUCKETS,
            registry=registry,
        )
        self.rate_limit_rejections = Counter(
            "microblog_rate_limit_rejections",
            "Requests refused with 429 by a rate limit, by limit.",
            ["limit"],
            registry=registry,
        )
        for limit in RATE_LIMITS:  # present at 0 from the start, so rate() sees the first one
            self.rate_limit_rejections.labels(limit=limit)


class Collected:
    """Several registries exposed as one (their metric names are distinct)."""

    def __init__(self, registries: Iterable[Collector]) -> None:
        self._registries = tuple(registries)

    def collect(self) -> Iterator[Metric]:
        for registry in self._registries:
            yield from registry.collect()


def exposition(registries: Iterable[Collector], accept: str) -> tuple[bytes, str]:
    """The answer to a scrape: the text format negotiated from `Accept` (the classic
    `text/plain; version=0.0.4` by default, OpenMetrics when asked) and its content type."""
    encode, content_type = choose_encoder(accept)
    return encode(Collected(registries)), content_type
