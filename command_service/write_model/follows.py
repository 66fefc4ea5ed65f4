"""Follow edges in the write model: one document per (follower, followee), keyed by the pair."""

from bson import ObjectId

from command_service.write_model.command_scope import session_options, stamped, wrote
from service_kit.clock import utc_now
from service_kit.mongo import Database
from service_kit.write_model import FOLLOWS, follow_key


async def upsert_follow(
    database: Database, follower_id: ObjectId, followee_id: ObjectId, followee_post_seq: int
) -> None:
    """Idempotent: following twice leaves one edge (and its first start point) and records no
    second change."""
    result = await database[FOLLOWS].update_one(
        {"_id": follow_key(follower_id, followee_id)},
        {
            "$setOnInsert": stamped(
                {
                    "follower_id": follower_id,
                    "followee_id": followee_id,
                    "followee_post_seq": followee_post_seq,
                    "created_at": utc_now(),
                }
            )
        },
        upsert=True,
        **session_options(),
    )
    if result.upserted_id is not None:
        wrote()


async def delete_follow(database: Database, follower_id: ObjectId, followee_id: ObjectId) -> None:
    result = await database[FOLLOWS].delete_one(
        {"_id": follow_key(follower_id, followee_id)}, **session_options()
    )
    if result.deleted_count:
        wrote()


async def delete_follows_between(database: Database, one: ObjectId, other: ObjectId) -> None:
    """Remove the follows of the two accounts in both directions (a block), in one request."""
    result = await database[FOLLOWS].delete_many(
        {"_id": {"$in": [follow_key(one, other), follow_key(other, one)]}}, **session_options()
    )
    if result.deleted_count:
        wrote()
