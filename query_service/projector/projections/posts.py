"""posts → post_views and home timelines. A tombstoned post disappears from both."""

from typing import Any

from query_service.projector.context import ProjectionContext
from query_service.projector.projections import timelines
from query_service.read_models.collections import POST_VIEWS, USER_VIEWS


async def project(context: ProjectionContext, change: dict[str, Any]) -> None:
    post_id = str(change["documentKey"]["_id"])
    post = change.get("fullDocument")
    # `updateLookup` gives the current version, which may already be deleted (or None).
    if change["operationType"] == "delete" or post is None or post.get("deleted_at") is not None:
        await _remove(context, post_id)
        return
    await _upsert(context, post_id, post)
    if change["operationType"] == "insert":
        await timelines.deliver_post(context, post_id, str(post["author_id"]), post["created_at"])


async def _upsert(context: ProjectionContext, post_id: str, post: dict[str, Any]) -> None:
    author_id = str(post["author_id"])
    reply_to = str(post["reply_to"]) if post.get("reply_to") else None
    await context.database[POST_VIEWS].update_one(
        {"_id": post_id},
        {
            "$set": {
                "author_id": author_id,
                "author": await _author_summary(context, author_id),
                "text": post["text"],
                "created_at": post["created_at"],
                "reply_to": reply_to,
            },
            "$setOnInsert": {"like_count": 0, "repost_count": 0, "reply_count": 0},
        },
        upsert=True,
    )
    context.stale.users.add(author_id)
    context.stale.posts.add(post_id)
    if reply_to:
        context.stale.posts.add(reply_to)


async def _remove(context: ProjectionContext, post_id: str) -> None:
    view = await context.database[POST_VIEWS].find_one_and_delete({"_id": post_id})
    await timelines.remove_post(context, post_id)
    if view is not None:
        context.stale.users.add(view["author_id"])
        if view.get("reply_to"):
            context.stale.posts.add(view["reply_to"])


async def _author_summary(context: ProjectionContext, author_id: str) -> dict[str, str]:
    # A user's insert always precedes their posts in the stream, so the view exists.
    author = await context.database[USER_VIEWS].find_one(
        {"_id": author_id}, {"handle": 1, "display_name": 1}
    )
    if author is None:
        return {"id": author_id, "handle": "", "display_name": ""}
    return {"id": author_id, "handle": author["handle"], "display_name": author["display_name"]}
