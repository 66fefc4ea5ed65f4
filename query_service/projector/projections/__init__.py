"""Projections: one module per write-model collection, each turning a change into read-model writes.

Every handler is idempotent: applying a change twice leaves the read models as applying it once.
They upsert by natural ids, delete by natural ids, and leave counts to `counters.recount`.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from query_service.projector.context import ProjectionContext
from query_service.projector.projections import follows, posts, users
from service_kit.write_model import FOLLOWS, POSTS, USERS

Change = dict[str, Any]
Projection = Callable[[ProjectionContext, Change], Awaitable[None]]

PROJECTIONS: dict[str, Projection] = {
    USERS: users.project,
    POSTS: posts.project,
    FOLLOWS: follows.project,
}


async def apply_change(context: ProjectionContext, change: Change) -> None:
    projection = PROJECTIONS.get(change["ns"]["coll"])
    if projection is not None:
        await projection(context, change)
