"""follows → follow_edges, with timeline backfill on follow and removal on unfollow."""

from typing import Any

from query_service.projector.context import ProjectionContext
from query_service.projector.projections import timelines
from query_service.read_models.collections import FOLLOW_EDGES, follow_edge_id


async def project(context: ProjectionContext, change: dict[str, Any]) -> None:
    # The write model keys an edge by the pair, so even a delete (documentKey only) names both.
    key = change["documentKey"]["_id"]
    follower_id, followee_id = str(key["follower"]), str(key["followee"])
    edge = change.get("fullDocument")
    if change["operationType"] == "delete":
        await context.database[FOLLOW_EDGES].delete_one(
            {"_id": follow_edge_id(follower_id, followee_id)}
        )
        await timelines.remove_author(context, follower_id, followee_id)
    elif edge is not None:
        await context.database[FOLLOW_EDGES].update_one(
            {"_id": follow_edge_id(follower_id, followee_id)},
            {
                "$set": {
                    "follower_id": follower_id,
                    "followee_id": followee_id,
                    "created_at": edge["created_at"],
                }
            },
            upsert=True,
        )
        # Always backfill, even on a replay: a crash may have come between the edge and this.
        await timelines.backfill(context, follower_id, followee_id, edge["created_at"])
    context.stale.users.update((follower_id, followee_id))
