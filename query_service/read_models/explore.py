"""Explore: recent posts from everyone, newest first, as Mastodon's public timeline shows them.

The read side only: it reads `post_views` through its `in_explore` field and `explore_newest`
index, both written by `PostsProjection` (`posts.shown_in_explore` is the rule).
"""

from typing import Any, cast

from query_service.read_models import pagination
from query_service.read_models.names import POST_VIEWS
from query_service.read_models.pagination import Page, Position
from query_service.read_models.posts import NEWEST_FIRST, PostView
from service_kit.mongo import Database


async def explore_page(
    database: Database,
    limit: int,
    position: Position | None,
    hidden_authors: set[str] | frozenset[str] = frozenset(),
) -> Page[PostView]:
    """One page of explore; posts of `hidden_authors` (the reader's blocks) are filtered in the
    query, so a page is full whenever more posts exist."""
    query: dict[str, Any] = {"in_explore": True, **pagination.after(position, "_id")}
    if hidden_authors:
        query["author_id"] = {"$nin": sorted(hidden_authors)}
    found = await database[POST_VIEWS].find(query).sort(NEWEST_FIRST).limit(limit + 1).to_list(None)
    posts = cast(list[PostView], found)
    return pagination.page_of(posts, limit, lambda post: Position(post["created_at"], post["_id"]))
