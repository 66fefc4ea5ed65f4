"""Focused projection tests: likes, reposts and notifications under repeats, replays and blocks.

Changes are handed to the projections directly (as the runner would, a batch at a time), so each
test states exactly which change arrives when, including ones `updateLookup` made stale.
"""

import uuid
from typing import Any

from bson import ObjectId

from query_service.projector import rebuild
from query_service.projector.projection import ProjectionContext, ProjectionSettings
from query_service.read_models.names import NOTIFICATIONS, POST_REACTIONS, POST_VIEWS, USER_VIEWS
from query_service.read_models.registry import projections_of
from service_kit.clock import utc_now
from service_kit.write_model import BLOCKS, LIKES, POSTS
from tests.support import Stack


def change(collection: str, key: Any, document: dict[str, Any] | None, op: str = "insert"):
    """A change event as the stream delivers it: each call is another event (its own token)."""
    return {
        "_id": {"_data": uuid.uuid4().hex},
        "operationType": op,
        "ns": {"db": "microblog", "coll": collection},
        "documentKey": {"_id": key},
        "fullDocument": document,
    }


async def apply(stack: Stack, *changes: dict[str, Any]) -> None:
    """One batch: every projection that consumes each change, then the batch's recounts."""
    settings = ProjectionSettings(
        backfill_limit=200, fanout_chunk=1000, fanout_max_followers=10_000, timeline_max_entries=800
    )
    context = ProjectionContext(stack.read_database, settings)
    for one in changes:
        for projection in projections_of(one["ns"]["coll"]):
            await projection.apply(context, one)
    await rebuild.finish_batch(context)


async def a_post(stack: Stack) -> tuple[dict[str, Any], dict[str, Any]]:
    author, liker = ObjectId(), ObjectId()
    for user_id, handle in ((author, "author"), (liker, "liker")):
        user = {
            "_id": user_id,
            "handle": handle,
            "handle_lower": handle,
            "display_name": handle.title(),
            "bio": "",
            "created_at": utc_now(),
        }
        await apply(stack, change("users", user_id, user))
    post = {
        "_id": ObjectId(),
        "author_id": author,
        "text": "hello",
        "reply_to": None,
        "reply_to_author_id": None,
        "author_seq": 1,
        "hashtags": [],
        "mentions": [],
        "mention_ids": [],
        "created_at": utc_now(),
        "deleted_at": None,
    }
    await apply(stack, change(POSTS, post["_id"], post))
    like = {
        "_id": {"user": liker, "post": post["_id"]},
        "user_id": liker,
        "post_id": post["_id"],
        "post_author_id": author,
        "created_at": utc_now(),
    }
    return post, like


async def test_a_like_seen_twice_counts_once(stack: Stack):
    post, like = await a_post(stack)
    await apply(stack, change(LIKES, like["_id"], like), change(LIKES, like["_id"], like))
    await apply(stack, change(LIKES, like["_id"], like))

    view = await stack.read_database[POST_VIEWS].find_one({"_id": str(post["_id"])})
    assert view["like_count"] == 1
    assert await stack.read_database[POST_REACTIONS].count_documents({}) == 1
    assert await stack.read_database[NOTIFICATIONS].count_documents({"kind": "like"}) == 1


async def test_a_like_replayed_after_its_post_was_deleted_leaves_nothing(stack: Stack):
    post, like = await a_post(stack)
    tombstone = {**post, "deleted_at": utc_now(), "text": ""}
    await apply(stack, change(LIKES, like["_id"], like))
    await apply(stack, change(POSTS, post["_id"], tombstone, "update"))
    # A replay from before both: the like again (it still exists), then the tombstone again.
    await apply(stack, change(LIKES, like["_id"], like))
    assert await stack.read_database[POST_REACTIONS].count_documents({}) == 0
    assert await stack.read_database[NOTIFICATIONS].count_documents({}) == 0
    await apply(stack, change(POSTS, post["_id"], tombstone, "update"))
    assert await stack.read_database[POST_VIEWS].count_documents({}) == 0


async def test_an_unlike_whose_lookup_is_gone_removes_the_edge_and_the_notification(stack: Stack):
    post, like = await a_post(stack)
    await apply(stack, change(LIKES, like["_id"], like))
    # The insert replayed after the unlike: `updateLookup` finds nothing any more.
    await apply(stack, change(LIKES, like["_id"], None))
    view = await stack.read_database[POST_VIEWS].find_one({"_id": str(post["_id"])})
    assert view["like_count"] == 0
    assert await stack.read_database[NOTIFICATIONS].count_documents({}) == 0


async def test_the_block_flag_follows_the_blocks_current_state_in_any_order(stack: Stack):
    post, like = await a_post(stack)
    author, liker = post["author_id"], like["user_id"]
    key = {"blocker": author, "blocked": liker}
    block = {"_id": key, "blocker_id": author, "blocked_id": liker, "created_at": utc_now()}

    async def flags() -> list[bool]:
        found = await stack.read_database[NOTIFICATIONS].find().to_list(None)
        return [notification["blocked"] for notification in found]

    await apply(stack, change(LIKES, like["_id"], like), change(BLOCKS, key, block))
    assert await flags() == [True]
    await apply(stack, change(LIKES, like["_id"], like))  # replayed while the block stands
    assert await flags() == [True]
    await apply(stack, change(BLOCKS, key, None, "delete"))
    assert await flags() == [False]
    # The block's insert replayed after the unblock: its lookup is gone, so it blocks nothing.
    await apply(stack, change(BLOCKS, key, None))
    assert await flags() == [False]
    assert await stack.read_database[USER_VIEWS].count_documents({}) == 2
