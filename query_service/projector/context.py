"""What every projection handler works with while a batch of changes is applied."""

from dataclasses import dataclass, field

from service_kit.mongo import Database


@dataclass
class StaleCounters:
    """Counters touched by a batch. They are recounted from membership once the batch is applied,
    so replaying a change can never count it twice (no blind `$inc`)."""

    users: set[str] = field(default_factory=set)
    posts: set[str] = field(default_factory=set)


@dataclass
class ProjectionContext:
    database: Database
    backfill_limit: int
    fanout_chunk: int
    stale: StaleCounters = field(default_factory=StaleCounters)
