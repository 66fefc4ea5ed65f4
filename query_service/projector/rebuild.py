"""Rebuilding the read models from the write model, into shadow collections swapped in at the end.

Needed when there is nothing to resume from (a first start, a checkpoint the change history no
longer reaches, a dropped write-model collection) or when an operator asks. The steps:

1. Mark the start with the server's clock (`operationTime` of a command), not by waiting for an
   idle stream: every change at or after the mark is applied again in step 3, so the rebuild may
   read the write model while writes go on.
2. Replay the write model's current documents as inserts, through the same projections as live
   changes, into `rebuild_*` collections. Readers still see the old read models.
3. Follow the stream from the mark into the shadows until it reaches the present, then drop the
   counter stubs left for documents that never came (`read_models/counters.py`: in `_id` order a
   reply may be replayed before its parent, so the shadows' counters may create a parent's
   document first; a stub still there now belongs to a parent that is gone). Then each
   projection finishes what needs the complete state (`finish_rebuild`: trimming timelines to
   their cap).
4. Swap each shadow in with `renameCollection` + `dropTarget` (atomic per collection).

If the history no longer reaches the mark (the rebuild's own writes can push it out of a small
oplog), the shadows are dropped, the live read models stay as they were, and the caller backs off.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from bson.timestamp import Timestamp

from query_service.projector.projection import Change, ProjectionContext
from query_service.read_models import counters
from query_service.read_models.registry import (
    PROJECTIONS,
    READ_MODEL_COLLECTIONS,
    REBUILD_SOURCES,
    ensure_read_model_indexes,
)
from service_kit.mongo import Database
from service_kit.write_model import POSTS

log = logging.getLogger(__name__)

SHADOW_PREFIX: Final = "rebuild_"
Progress = Callable[[str, int, int], Awaitable[None]]  # (stage, replayed, total)
Apply = Callable[[ProjectionContext, Change], Awaitable[object]]


class RebuildFailed(Exception):
    """The rebuild could not complete; the live read models are untouched."""


async def operation_time(database: Database) -> Timestamp:
    """The server's present as a cluster time: every replica-set reply carries it."""
    reply = await database.command("ping")
    found = reply.get("operationTime")
    if not isinstance(found, Timestamp):
        raise RebuildFailed("MongoDB returned no operationTime: change streams need a replica set")
    return found


async def prepare_shadows(database: Database) -> None:
    await drop_shadows(database)
    await ensure_read_model_indexes(database, SHADOW_PREFIX)


async def drop_shadows(database: Database) -> None:
    for name in READ_MODEL_COLLECTIONS:
        await database.drop_collection(SHADOW_PREFIX + name)


async def replay_write_model(
    shadow: ProjectionContext,
    write_model: Database,
    apply: Apply,
    batch_size: int,
    progress: Progress,
) -> int:
    """Project every current write-model document into the shadows through `apply` (the one
    place that handles failures, so a document no projection understands is parked, not fatal);
    return how many."""
    database = write_model
    # An estimate from collection metadata: counting exactly would be a scan of its own.
    total = sum([await database[source].estimated_document_count() for source in REBUILD_SOURCES])
    replayed = 0
    await progress("replaying the write model", 0, total)
    for source in REBUILD_SOURCES:
        documents = database[source].find(_replayed(source))
        async for document in documents.sort("_id", 1):
            await apply(shadow, _as_insert(database.name, source, document))
            replayed += 1
            if replayed % batch_size == 0:
                await finish_batch(shadow)
                await progress("replaying the write model", replayed, total)
    await finish_batch(shadow)
    await progress("replayed the write model", replayed, total)
    log.info("rebuild: replayed %d write-model documents", replayed)
    return replayed


async def finish_batch(context: ProjectionContext) -> None:
    for projection in PROJECTIONS:
        await projection.finish_batch(context)


async def drop_counter_stubs(shadow: ProjectionContext) -> None:
    """Once caught up: counted documents created by a count alone belong to nothing (step 3)."""
    for projection in PROJECTIONS:
        for counted in projection.counted:
            dropped = await counters.drop_stubs(shadow, counted)
            if dropped:
                log.info("rebuild: dropped %d counter stubs of %s", dropped, counted.collection)


async def finish_rebuild(shadow: ProjectionContext) -> None:
    for projection in PROJECTIONS:
        await projection.finish_rebuild(shadow)


async def swap_in(database: Database) -> None:
    """Replace each live read model by its shadow (atomic per collection, indexes included)."""
    for name in READ_MODEL_COLLECTIONS:
        await database[SHADOW_PREFIX + name].rename(name, dropTarget=True)


def _replayed(source: str) -> dict[str, Any]:
    """Tombstoned posts project to nothing; skipping them only saves work."""
    return {"deleted_at": None} if source == POSTS else {}


def _as_insert(db: str, collection: str, document: dict[str, Any]) -> Change:
    return {
        # Not a resume token, but unique like one: it names the change if it has to be parked,
        # and marks its counter updates (`counters.mark_of`).
        "_id": {"_data": f"rebuild:{collection}:{document['_id']}"},
        "operationType": "insert",
        "ns": {"db": db, "coll": collection},
        "documentKey": {"_id": document["_id"]},
        "fullDocument": document,
    }
