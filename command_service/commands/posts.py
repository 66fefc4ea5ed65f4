"""Writing and deleting posts."""

from bson import ObjectId

from command_service.commands.errors import Blocked, NotPostAuthor, PostNotFound
from command_service.write_model import blocks, posts, users
from service_kit.ids import parse_object_id
from service_kit.mongo import Database
from service_kit.text import mentions_of
from service_kit.tokens import Principal
from service_kit.write_model import PostDocument


async def create_post(
    database: Database, author: Principal, *, text: str, reply_to: str | None
) -> PostDocument:
    parent: PostDocument | None = None
    if reply_to is not None:
        parent_id = parse_object_id(reply_to)
        parent = await posts.find_live_post(database, parent_id) if parent_id else None
        if parent is None:
            raise PostNotFound(reply_to)
        author_id = ObjectId(author.user_id)
        if parent["author_id"] != author_id and await blocks.blocks_between(
            database, author_id, parent["author_id"]
        ):
            raise Blocked("reply to this post")
    # Mentions are resolved once, when the post is written: a later rename does not retarget them.
    mentioned = await users.find_users_by_handles(database, mentions_of(text))
    return await posts.insert_post(
        database,
        author_id=ObjectId(author.user_id),
        text=text,
        reply_to=parent,
        mentions=mentioned,
    )


async def delete_post(database: Database, requester: Principal, post_id: str) -> None:
    parsed = parse_object_id(post_id)
    post = await posts.find_live_post(database, parsed) if parsed else None
    if parsed is None or post is None:
        raise PostNotFound(post_id)
    if str(post["author_id"]) != requester.user_id:
        raise NotPostAuthor(post_id)
    if not await posts.mark_post_deleted(database, parsed):
        raise PostNotFound(post_id)  # deleted concurrently by another request
