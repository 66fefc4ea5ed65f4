"""Likes and reposts in the write model: one document per (user, post), keyed by the pair.

Both have the same shape (`LikeDocument`, `RepostDocument`), so one pair of functions writes
either collection (`LIKES` or `REPOSTS`); the post's author is stored with it so no projection has
to look it up. A repost also takes the next number in the reposter's sequence of posts
(`reposter_seq`): a follow shows the followee's reposts by the same window as its posts.
"""

from bson import ObjectId

from command_service.write_model.command_scope import session_options, stamped, wrote
from command_service.write_model.posts import next_post_number
from service_kit.clock import utc_now
from service_kit.mongo import Database
from service_kit.write_model import REPOSTS, PostDocument, pair_key


async def upsert_reaction(
    database: Database, collection: str, user_id: ObjectId, post: PostDocument
) -> None:
    """Idempotent: liking (or reposting) twice keeps the first one and records no change."""
    key = pair_key(user_id, post["_id"])
    fields = {
        "user_id": user_id,
        "post_id": post["_id"],
        "post_author_id": post["author_id"],
        "created_at": utc_now(),
    }
    if collection == REPOSTS:
        if await database[REPOSTS].find_one({"_id": key}, {"_id": 1}, **session_options()):
            return  # reposted already: no new number
        # Two racing first reposts both draw a number; the one left unused is a gap.
        fields["reposter_seq"] = await next_post_number(database, user_id)
    result = await database[collection].update_one(
        {"_id": key},
        {"$setOnInsert": stamped(fields)},
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
