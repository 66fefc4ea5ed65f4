"""Blocks in the write model: one document per (blocker, blocked), keyed by the pair."""

from bson import ObjectId

from command_service.write_model.command_scope import session_options, stamped, wrote
from service_kit.clock import utc_now
from service_kit.mongo import Database
from service_kit.write_model import BLOCKS, block_key


async def upsert_block(database: Database, blocker_id: ObjectId, blocked_id: ObjectId) -> None:
    """Idempotent: blocking twice keeps one block and records no second change."""
    result = await database[BLOCKS].update_one(
        {"_id": block_key(blocker_id, blocked_id)},
        {
            "$setOnInsert": stamped(
                {"blocker_id": blocker_id, "blocked_id": blocked_id, "created_at": utc_now()}
            )
        },
        upsert=True,
        **session_options(),
    )
    if result.upserted_id is not None:
        wrote()


async def delete_block(database: Database, blocker_id: ObjectId, blocked_id: ObjectId) -> None:
    result = await database[BLOCKS].delete_one(
        {"_id": block_key(blocker_id, blocked_id)}, **session_options()
    )
    if result.deleted_count:
        wrote()


async def blocks_between(database: Database, one: ObjectId, other: ObjectId) -> bool:
    """Whether either of the two blocks the other: one query, by `_id`, for both directions."""
    found = await database[BLOCKS].find_one(
        {"_id": {"$in": [block_key(one, other), block_key(other, one)]}}, {"_id": 1}
    )
    return found is not None


async def is_blocked_by(database: Database, actor_id: ObjectId, blocker_id: ObjectId) -> bool:
    """Whether `blocker_id` blocks `actor_id` (who then may not follow, reply to, like or repost
    them)."""
    found = await database[BLOCKS].find_one({"_id": block_key(blocker_id, actor_id)}, {"_id": 1})
    return found is not None
