"""What a page of posts says about its reader: `liked_by_me` and `reposted_by_me`.

Every endpoint that returns posts passes them through `for_viewer`: one `$in` lookup in
`post_reactions` for the whole page, and none for an anonymous reader (both fields false).
"""

from collections.abc import Sequence
from typing import cast

from query_service.read_models.posts import PostView
from query_service.read_models.reactions import reactions_of
from service_kit.mongo import Database


class ViewerPost(PostView):
    liked_by_me: bool
    reposted_by_me: bool


async def for_viewer(
    database: Database, viewer_id: str | None, posts: Sequence[PostView]
) -> list[ViewerPost]:
    """The posts, each with what `viewer_id` (None: anonymous) did to it; one query at most."""
    done: set[tuple[str, str]] = set()
    if viewer_id is not None and posts:
        done = await reactions_of(database, viewer_id, [post["_id"] for post in posts])
    return [
        cast(
            ViewerPost,
            {
                **post,
                "liked_by_me": ("like", post["_id"]) in done,
                "reposted_by_me": ("repost", post["_id"]) in done,
            },
        )
        for post in posts
    ]
