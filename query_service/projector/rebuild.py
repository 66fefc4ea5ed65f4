"""Rebuilding every read model from the write model.

Needed when there is nothing to resume from: a first start, or a checkpoint the change stream no
longer reaches (error 286, ChangeStreamHistoryLost). The current write model is replayed through
the same projections as live changes, as synthetic inserts in dependency order (users, follows,
posts), so there is one code path for both.
"""

import logging
from typing import Any

from query_service.projector.context import ProjectionContext
from query_service.projector.projections import apply_change
from query_service.projector.projections.counters import recount
from query_service.read_models.collections import DERIVED_COLLECTIONS
from service_kit.write_model import FOLLOWS, POSTS, USERS

log = logging.getLogger(__name__)
REBUILD_ORDER = (USERS, FOLLOWS, POSTS)


async def rebuild_read_models(context: ProjectionContext, batch_size: int) -> int:
    """Clear the derived collections and project the whole write model; return the count."""
    database = context.database
    for collection in DERIVED_COLLECTIONS:
        await database[collection].delete_many({})
    replayed = 0
    for collection in REBUILD_ORDER:
        source = database[collection].find({"deleted_at": None} if collection == POSTS else {})
        async for document in source.sort([("created_at", 1), ("_id", 1)]):
            await apply_change(context, _as_insert(database.name, collection, document))
            replayed += 1
            if replayed % batch_size == 0:
                await recount(context)
    await recount(context)
    log.info("rebuilt read models from %d write-model documents", replayed)
    return replayed


def _as_insert(db: str, collection: str, document: dict[str, Any]) -> dict[str, Any]:
    return {
        "operationType": "insert",
        "ns": {"db": db, "coll": collection},
        "documentKey": {"_id": document["_id"]},
        "fullDocument": document,
    }
