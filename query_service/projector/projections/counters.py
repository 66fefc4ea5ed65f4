"""Counts on user and post views, recounted from the memberships they summarise.

Recounting (rather than incrementing per change) makes every count correct after any replay or
crash, at the cost of one indexed count per touched counter per batch, not per change.
"""

from query_service.projector.context import ProjectionContext
from query_service.read_models.collections import FOLLOW_EDGES, POST_VIEWS, USER_VIEWS


async def recount(context: ProjectionContext) -> None:
    database = context.database
    for user_id in sorted(context.stale.users):
        await database[USER_VIEWS].update_one(
            {"_id": user_id},
            {
                "$set": {
                    "followers_count": await database[FOLLOW_EDGES].count_documents(
                        {"followee_id": user_id}
                    ),
                    "following_count": await database[FOLLOW_EDGES].count_documents(
                        {"follower_id": user_id}
                    ),
                    "posts_count": await database[POST_VIEWS].count_documents(
                        {"author_id": user_id}
                    ),
                }
            },
        )
    for post_id in sorted(context.stale.posts):
        await database[POST_VIEWS].update_one(
            {"_id": post_id},
            {
                "$set": {
                    "reply_count": await database[POST_VIEWS].count_documents({"reply_to": post_id})
                }
            },
        )
    context.stale.users.clear()
    context.stale.posts.clear()
