"""block_edges: who blocks whom, as the projector has applied it.

Written only by `BlocksProjection`. Other projections ask it whether a notification or a delivery
must be held back (`blocks_in_context`), and the read side filters blocked accounts out of a
reader's lists with one query (`blocked_by`).
"""

from datetime import datetime
from typing import ClassVar, TypedDict

from pymongo import ASCENDING, IndexModel

from query_service.projector.projection import (
    Change,
    OwnedCollections,
    Projection,
    ProjectionContext,
)
from query_service.read_models.names import BLOCK_EDGES
from service_kit.mongo import Database
from service_kit.write_model import BLOCKS


class BlockEdge(TypedDict):
    _id: str
    blocker_id: str
    blocked_id: str
    created_at: datetime


def block_edge_id(blocker_id: str, blocked_id: str) -> str:
    return f"{blocker_id}:{blocked_id}"


def block_of(change: Change) -> tuple[str, str]:
    """(blocker, blocked) of a blocks change: the `_id` is the pair, so a delete names both."""
    key = change["documentKey"]["_id"]
    return str(key["blocker"]), str(key["blocked"])


def block_exists(change: Change) -> bool:
    return change["operationType"] != "delete" and change.get("fullDocument") is not None


class BlocksProjection(Projection):
    name = "blocks"
    consumes = (BLOCKS,)
    owns: ClassVar[OwnedCollections] = {
        BLOCK_EDGES: [IndexModel([("blocker_id", ASCENDING)], name="blocked_by")]
    }

    async def apply(self, context: ProjectionContext, change: Change) -> None:
        blocker_id, blocked_id = block_of(change)
        edges = context.collection(BLOCK_EDGES)
        if not block_exists(change):
            await edges.delete_one({"_id": block_edge_id(blocker_id, blocked_id)})
            return
        await edges.update_one(
            {"_id": block_edge_id(blocker_id, blocked_id)},
            {
                "$set": {
                    "blocker_id": blocker_id,
                    "blocked_id": blocked_id,
                    "created_at": change["fullDocument"]["created_at"],
                }
            },
            upsert=True,
        )


async def blocks_in_context(context: ProjectionContext, blocker_id: str, actor_id: str) -> bool:
    """For projections: whether `blocker_id` blocks `actor_id`, as projected so far."""
    found = await context.collection(BLOCK_EDGES).find_one(
        {"_id": block_edge_id(blocker_id, actor_id)}, {"_id": 1}
    )
    return found is not None


# ---- the read side -----------------------------------------------------------------------------


async def blocked_by(database: Database, blocker_id: str) -> set[str]:
    """The accounts a reader blocks, in one indexed query (filtered out of their lists)."""
    edges = database[BLOCK_EDGES].find({"blocker_id": blocker_id}, {"blocked_id": 1})
    return {edge["blocked_id"] async for edge in edges}
