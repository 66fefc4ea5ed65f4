"""Posts in the write model.

A delete is a tombstone (`deleted_at`, text emptied), so replies keep a valid parent id. Each post
(and each repost, `reactions.py`) takes the next number in its author's sequence
(`post_sequences`), an atomic `$inc` on the server.
"""

from typing import cast

from bson import ObjectId
from pymongo import ReturnDocument

from command_service.write_model.command_scope import session_options, stamped, wrote
from service_kit.clock import utc_now
from service_kit.mongo import Database
from service_kit.text import hashtags_of, mentions_of
from service_kit.write_model import POST_SEQUENCES, POSTS, PostDocument, UserDocument


async def find_live_post(database: Database, post_id: ObjectId) -> PostDocument | None:
    found = await database[POSTS].find_one({"_id": post_id, "deleted_at": None})
    return cast(PostDocument, found) if found else None


async def last_post_number(database: Database, author_id: ObjectId) -> int:
    """How many numbers the author has drawn so far for posts and reposts (0 before the first)."""
    found = await database[POST_SEQUENCES].find_one({"_id": author_id})
    return int(found["last"]) if found else 0


async def next_post_number(database: Database, author_id: ObjectId) -> int:
    counter = await database[POST_SEQUENCES].find_one_and_update(
        {"_id": author_id},
        {"$inc": {"last": 1}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
        **session_options(),
    )
    assert counter is not None  # an upsert always returns the document after
    return int(counter["last"])


async def insert_post(
    database: Database,
    *,
    author_id: ObjectId,
    text: str,
    reply_to: PostDocument | None,
    mentions: list[UserDocument],
) -> PostDocument:
    # A number drawn by a post that then fails to insert leaves a gap, which nothing relies on.
    post = PostDocument(
        _id=ObjectId(),
        author_id=author_id,
        text=text,
        reply_to=reply_to["_id"] if reply_to else None,
        reply_to_author_id=reply_to["author_id"] if reply_to else None,
        author_seq=await next_post_number(database, author_id),
        hashtags=hashtags_of(text),
        mentions=mentions_of(text),
        mention_ids=[user["_id"] for user in mentions],
        created_at=utc_now(),
        deleted_at=None,
    )
    await database[POSTS].insert_one(stamped(dict(post)), **session_options())
    wrote()
    return post


async def mark_post_deleted(database: Database, post_id: ObjectId) -> bool:
    """Tombstone a live post and drop its text; False when it was already gone."""
    result = await database[POSTS].update_one(
        {"_id": post_id, "deleted_at": None},
        {"$set": stamped({"deleted_at": utc_now(), "text": ""})},
        **session_options(),
    )
    if result.modified_count == 1:
        wrote()
    return result.modified_count == 1
