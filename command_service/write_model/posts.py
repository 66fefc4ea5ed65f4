"""Posts in the write model.

A delete is a tombstone (`deleted_at`, text emptied), so replies keep a valid parent id.
"""

from typing import cast

from bson import ObjectId

from service_kit.clock import utc_now
from service_kit.mongo import Database
from service_kit.write_model import POSTS, PostDocument


async def find_live_post(database: Database, post_id: ObjectId) -> PostDocument | None:
    found = await database[POSTS].find_one({"_id": post_id, "deleted_at": None})
    return cast(PostDocument, found) if found else None


async def insert_post(
    database: Database, *, author_id: ObjectId, text: str, reply_to: ObjectId | None
) -> PostDocument:
    post = PostDocument(
        _id=ObjectId(),
        author_id=author_id,
        text=text,
        reply_to=reply_to,
        created_at=utc_now(),
        deleted_at=None,
    )
    await database[POSTS].insert_one(dict(post))
    return post


async def mark_post_deleted(database: Database, post_id: ObjectId) -> bool:
    """Tombstone a live post and drop its text; False when it was already gone."""
    result = await database[POSTS].update_one(
        {"_id": post_id, "deleted_at": None},
        {"$set": {"deleted_at": utc_now(), "text": ""}},
    )
    return result.modified_count == 1
