"""follow_edges: who follows whom, as the projector has applied it (it drives fan-out).

Written only by `FollowsProjection`; each edge keeps the follow's start point in the followee's
sequence of posts (`followee_post_seq`), which decides what the follower's timeline backfills.
An edge counts into its two users' `followers_count` and `following_count` (`counters.py`).
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
from query_service.read_models import counters, pagination
from query_service.read_models.counters import Counter
from query_service.read_models.names import FOLLOW_EDGES
from query_service.read_models.pagination import Page, Position
from query_service.read_models.users import USER_COUNTS, UserView, users_in_order
from service_kit.mongo import Database
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
        # Newest follow first, the other side breaking ties: the order of the follower lists.
        # (New names: these replace `followers_of`/`following_of`, which had no tie-breaker and
        # whose names a server would refuse to reuse for other keys; a rebuild drops the old.)
        FOLLOW_EDGES: [
            IndexModel(
                [
                    ("followee_id", ASCENDING),
                    ("created_at", DESCENDING),
                    ("follower_id", DESCENDING),
                ],
                name="followers_newest",
            ),
            IndexModel(
                [
                    ("follower_id", ASCENDING),
                    ("created_at", DESCENDING),
                    ("followee_id", DESCENDING),
                ],
                name="following_newest",
            ),
        ]
    }

    async def apply(self, context: ProjectionContext, change: Change) -> None:
        follower_id, followee_id = edge_of(change)
        edge = None
        if edge_exists(change):
            follow = change["fullDocument"]
            edge = {
                "$set": {
                    "follower_id": follower_id,
                    "followee_id": followee_id,
                    "followee_post_seq": int(follow.get("followee_post_seq", 0)),
                    "created_at": follow["created_at"],
                }
            }
        counted: list[Counter] = [
            USER_COUNTS.counter(followee_id, "followers_count"),
            USER_COUNTS.counter(follower_id, "following_count"),
        ]
        await counters.change_membership(
            context,
            change,
            FOLLOW_EDGES,
            follow_edge_id(follower_id, followee_id),
            edge,
            lambda _: counted,
        )


# ---- the read side -----------------------------------------------------------------------------


async def followers_page(
    database: Database, user_id: str, limit: int, position: Position | None
) -> Page[UserView]:
    """Who follows `user_id`, newest follow first: one page of edges, one batched hydration."""
    return await _people(database, "followee_id", user_id, "follower_id", limit, position)


async def following_page(
    database: Database, user_id: str, limit: int, position: Position | None
) -> Page[UserView]:
    """Whom `user_id` follows, newest follow first."""
    return await _people(database, "follower_id", user_id, "followee_id", limit, position)


async def _people(
    database: Database,
    side: str,
    user_id: str,
    other: str,
    limit: int,
    position: Position | None,
) -> Page[UserView]:
    found = (
        await database[FOLLOW_EDGES]
        .find({side: user_id, **pagination.after(position, other)}, {other: 1, "created_at": 1})
        .sort([("created_at", DESCENDING), (other, DESCENDING)])
        .limit(limit + 1)
        .to_list(None)
    )
    edges = pagination.page_of(found, limit, lambda edge: Position(edge["created_at"], edge[other]))
    users = await users_in_order(database, [edge[other] for edge in edges.items])
    return Page(users, edges.next_position)
