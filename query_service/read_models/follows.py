"""follow_edges: who follows whom, as the projector has applied it (it drives fan-out).

Written only by `FollowsProjection`; each edge keeps the follow's start point in the followee's
sequence of posts (`followee_post_seq`), which decides what the follower's timeline backfills.
"""

from datetime import datetime
from typing import ClassVar, TypedDict

from pymongo import ASCENDING, DESCENDING, IndexModel

from query_service.projector.projection import (
    Change,
    OwnedCollections,
    Projection,
    ProjectionContext,
)
from query_service.read_models.names import FOLLOW_EDGES
from service_kit.write_model import FOLLOWS


class FollowEdge(TypedDict):
    _id: str
    follower_id: str
    followee_id: str
    followee_post_seq: int
    created_at: datetime


def follow_edge_id(follower_id: str, followee_id: str) -> str:
    return f"{follower_id}:{followee_id}"


def edge_of(change: Change) -> tuple[str, str]:
    """(follower, followee) of a follows change: the write model keys an edge by the pair, so
    even a delete (documentKey only) names both."""
    key = change["documentKey"]["_id"]
    return str(key["follower"]), str(key["followee"])


def edge_exists(change: Change) -> bool:
    """Whether a follows change leaves the edge in place (`updateLookup` None means it is gone)."""
    return change["operationType"] != "delete" and change.get("fullDocument") is not None


class FollowsProjection(Projection):
    name = "follows"
    consumes = (FOLLOWS,)
    owns: ClassVar[OwnedCollections] = {
        FOLLOW_EDGES: [
            IndexModel(
                [("followee_id", ASCENDING), ("created_at", DESCENDING)], name="followers_of"
            ),
            IndexModel(
                [("follower_id", ASCENDING), ("created_at", DESCENDING)], name="following_of"
            ),
        ]
    }

    async def apply(self, context: ProjectionContext, change: Change) -> None:
        follower_id, followee_id = edge_of(change)
        edges = context.collection(FOLLOW_EDGES)
        if not edge_exists(change):
            await edges.delete_one({"_id": follow_edge_id(follower_id, followee_id)})
            return
        follow = change["fullDocument"]
        await edges.update_one(
            {"_id": follow_edge_id(follower_id, followee_id)},
            {
                "$set": {
                    "follower_id": follower_id,
                    "followee_id": followee_id,
                    "followee_post_seq": int(follow.get("followee_post_seq", 0)),
                    "created_at": follow["created_at"],
                }
            },
            upsert=True,
        )
