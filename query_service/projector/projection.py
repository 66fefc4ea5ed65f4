"""The one interface between the projector and the read models it keeps.

Each read model has one owning module in `query_service/read_models/` with a `Projection` that
declares what it consumes (write-model collections), what it owns (the only read-model collections
it writes, except the counter fields of counted documents, which every membership that counts into
them updates through `read_models/counters.py`), their indexes, and how it is rebuilt. The runner
and the rebuild call projections only through this interface, in the order of
`query_service.read_models.registry.PROJECTIONS`.

Rules every projection follows (the README's consistency model):
- What it writes is a function of the write model's current state: applying any suffix of the
  change history, or a change twice, or replaying the whole write model as inserts, ends in the
  same documents. Nothing compares clocks (`created_at` is for display only).
- Writes are upserts and deletes by natural ids. A membership that counters count (a follow
  edge, a post view) is written only through `read_models/counters.py`, which adds the change's
  delta to each counter with a guarded single-document update before it writes the membership:
  O(1) per change, and exact under replays and crashes. Counters are never blindly incremented.
- It writes through `context.collection(name)`, which a rebuild points at shadow collections.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pymongo import IndexModel

from service_kit.mongo import Collection, Database

if TYPE_CHECKING:
    from query_service.read_models.counters import CountedDocument, Counter

Change = dict[str, Any]
# Read-model collections a projection alone writes, each with its indexes.
OwnedCollections = dict[str, list[IndexModel]]


@dataclass(frozen=True)
class ProjectionSettings:
    backfill_limit: int
    fanout_chunk: int
    # Hybrid fan-out and the timeline cap (FANOUT_MAX_FOLLOWERS, TIMELINE_MAX_ENTRIES).
    fanout_max_followers: int
    timeline_max_entries: int


@dataclass
class ProjectionContext:
    """What handlers work with while changes are applied: where to write, and how to count."""

    database: Database
    settings: ProjectionSettings
    # "" for the live read models; a rebuild writes into collections with its own prefix.
    prefix: str = ""
    # A rebuild's replay meets replies before their parents: increments may create the counted
    # document as a stub, completed by its view later (see `read_models/counters.py`).
    stub_counters: bool = False
    # Off the hot path (a parked change applied again): counters are not incremented but
    # collected here and recounted exactly afterwards (`counters.recount`).
    recounted: "set[Counter] | None" = None
    # Ids a batch touched, per projection, for work done once per batch (`finish_batch`).
    stale: dict[str, set[str]] = field(default_factory=dict)
    # Told how many timeline entries each fan-out or backfill write upserted (the metrics).
    on_fanout: Callable[[int], None] = lambda entries: None

    def collection(self, name: str) -> Collection:
        return self.database[self.prefix + name]

    @property
    def rebuilding(self) -> bool:
        """Whether a rebuild is writing (into its shadows): `finish_rebuild` follows."""
        return bool(self.prefix)

    def stale_ids(self, projection: str) -> set[str]:
        return self.stale.setdefault(projection, set())


class Projection:
    """Base of every projection; subclasses set the class attributes and override `apply`."""

    name: ClassVar[str]
    # Write-model collections whose changes `apply` handles. A rebuild replays these collections'
    # current documents as inserts: that is each projection's rebuild step.
    consumes: ClassVar[tuple[str, ...]]
    owns: ClassVar[OwnedCollections]
    # The counted documents among what it owns (see `read_models/counters.py`).
    counted: ClassVar[tuple["CountedDocument", ...]] = ()

    async def apply(self, context: ProjectionContext, change: Change) -> None:
        raise NotImplementedError

    async def finish_batch(self, context: ProjectionContext) -> None:
        """Called once the batch's changes are applied, for what is decided once per batch
        (never counters: those are exact after every change)."""

    async def finish_rebuild(self, context: ProjectionContext) -> None:
        """Called once a rebuild's shadows have caught up, right before they are swapped in: for
        work that only the complete state can decide (trimming timelines to their cap)."""
