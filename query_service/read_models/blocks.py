"""block_edges: who blocks whom, as the projector has applied it.

Written only by `BlocksProjection`. Other projections ask it whether a notification or a delivery
must be held back (`blocks_in_context`, `blocked_pairs`), and the read side filters blocked
accounts out of a reader's lists with one query (`blocked_by`, `blocked_pairs`).
"""

from collections.abc import Iterable
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
from service_kit.mongo import Collection, Database
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


async def blocked_pairs(
    edges: Collection, owners: Iterable[str], others: Iterable[str]
) -> set[tuple[str, str]]:
    """The (owner, other) pairs of which either blocks the other, in one query. `edges` is the
    block_edges collection: a projection passes its context's (a rebuild's shadow), the read
    side the live one."""
    owners, others = sorted(set(owners)), sorted(set(others))
    if not owners or not others:
        return set()
    found = edges.find(
        {
            "$or": [
                {"blocker_id": {"$in": owners}, "blocked_id": {"$in": others}},
                {"blocker_id": {"$in": others}, "blocked_id": {"$in": owners}},
            ]
        },
        {"blocker_id": 1, "blocked_id": 1},
    )
    pairs: set[tuple[str, str]] = set()
    owner_set = set(owners)
    async for edge in found:
        blocker, blocked = edge["blocker_id"], edge["blocked_id"]
        pairs.add((blocker, blocked) if blocker in owner_set else (blocked, blocker))
    return pairs


# ---- the read side -----------------------------------------------------------------------------


async def blocked_by(database: Database, blocker_id: str) -> set[str]:
    """The accounts a reader blocks, in one indexed query (filtered out of their lists)."""
    edges = database[BLOCK_EDGES].find({"blocker_id": blocker_id}, {"blocked_id": 1})
    return {edge["blocked_id"] async for edge in edges}
