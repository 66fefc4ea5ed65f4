"""Likes and reposts in the write model: one document per (user, post), keyed by the pair.

Both have the same shape (`LikeDocument`, `RepostDocument`), so one pair of functions writes
either collection (`LIKES` or `REPOSTS`); the post's author is stored with it so no projection has to look it up.
"""

from bson import ObjectId

from command_service.write_model.command_scope import session_options, wrote
from service_kit.clock import utc_now
from service_kit.mongo import Database
from service_kit.write_model import PostDocument, pair_key


async def upsert_reaction(
    database: Database, collection: str, user_id: ObjectId, post: PostDocument
) -> None:
    """Idempotent: liking (or reposting) twice keeps the first one and records no change."""
    result = await database[collection].update_one(
        {"_id": pair_key(user_id, post["_id"])},
        {
            "$setOnInsert": {
                "user_id": user_id,
                "post_id": post["_id"],
                "post_author_id": post["author_id"],
                "created_at": utc_now(),
            }
        },
        upsert=True,
        **session_options(),
    )
    if result.upserted_id is not None:
        wrote()


async def delete_reaction(
    database: Database, collection: str, user_id: ObjectId, post_id: ObjectId
) -> None:
    result = await database[collection].delete_one(
        {"_id": pair_key(user_id, post_id)}, **session_options()
    )
    if result.deleted_count:
        wrote()
