"""users → user_views, and the author summary embedded in that user's post_views."""

from typing import Any

from query_service.projector.context import ProjectionContext
from query_service.read_models.collections import POST_VIEWS, USER_VIEWS


async def project(context: ProjectionContext, change: dict[str, Any]) -> None:
    user_id = str(change["documentKey"]["_id"])
    user = change.get("fullDocument")
    if change["operationType"] == "delete" or (
        change["operationType"] == "update" and user is None
    ):
        await context.database[USER_VIEWS].delete_one({"_id": user_id})
        return
    if user is None:
        return
    await context.database[USER_VIEWS].update_one(
        {"_id": user_id},
        {
            "$set": {
                "handle": user["handle"],
                "handle_lower": user["handle_lower"],
                "display_name": user["display_name"],
                "bio": user.get("bio", ""),
                "created_at": user["created_at"],
            },
            "$setOnInsert": {"followers_count": 0, "following_count": 0, "posts_count": 0},
        },
        upsert=True,
    )
    # Posts embed their author; refresh only those that show an outdated name.
    author = {"id": user_id, "handle": user["handle"], "display_name": user["display_name"]}
    await context.database[POST_VIEWS].update_many(
        {"author_id": user_id, "author": {"$ne": author}}, {"$set": {"author": author}}
    )
    context.stale.users.add(user_id)
