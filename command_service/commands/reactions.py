"""Liking and reposting a post, and taking either back. All four are idempotent.

Liking or reposting needs a live post whose author does not block you. Taking a like or a repost
back needs only a live post: what you did before a block you may always undo. Reposting your own
post is allowed, as on Twitter and Mastodon (it never notifies you).
"""

from bson import ObjectId

from command_service.commands.errors import BlockedByAuthor, PostNotFound
from command_service.write_model import blocks, posts, reactions
from service_kit.ids import parse_object_id
from service_kit.mongo import Database
from service_kit.tokens import Principal
from service_kit.write_model import LIKES, REPOSTS, PostDocument


async def _live_post(database: Database, post_id: str) -> PostDocument:
    parsed = parse_object_id(post_id)
    post = await posts.find_live_post(database, parsed) if parsed else None
    if post is None:
        raise PostNotFound(post_id)
    return post


async def _react(database: Database, collection: str, user: Principal, post_id: str) -> None:
    post = await _live_post(database, post_id)
    user_id = ObjectId(user.user_id)
    if post["author_id"] != user_id and await blocks.is_blocked_by(
        database, user_id, post["author_id"]
    ):
        raise BlockedByAuthor(post_id)
    await reactions.upsert_reaction(database, collection, user_id, post)


async def _take_back(database: Database, collection: str, user: Principal, post_id: str) -> None:
    post = await _live_post(database, post_id)
    await reactions.delete_reaction(database, collection, ObjectId(user.user_id), post["_id"])


async def like(database: Database, user: Principal, post_id: str) -> None:
    await _react(database, LIKES, user, post_id)


async def unlike(database: Database, user: Principal, post_id: str) -> None:
    await _take_back(database, LIKES, user, post_id)


async def repost(database: Database, user: Principal, post_id: str) -> None:
    await _react(database, REPOSTS, user, post_id)


async def unrepost(database: Database, user: Principal, post_id: str) -> None:
    await _take_back(database, REPOSTS, user, post_id)
