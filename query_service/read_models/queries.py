"""Every query the API makes, each a bounded read of one read model (plus one batched hydration)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from query_service.read_models import pagination
from query_service.read_models.collections import (
    NEWEST_FIRST,
    POST_VIEWS,
    TIMELINE_ENTRIES,
    TIMELINE_NEWEST_FIRST,
    USER_VIEWS,
    PostView,
    TimelineEntry,
    UserView,
)
from query_service.read_models.pagination import Position
from service_kit.mongo import Database


@dataclass(frozen=True)
class PostPage:
    items: list[PostView]
    next_position: Position | None


async def user_by_handle(database: Database, handle: str) -> UserView | None:
    found = await database[USER_VIEWS].find_one({"handle_lower": handle.lower()})
    return cast(UserView, found) if found else None


async def post_by_id(database: Database, post_id: str) -> PostView | None:
    found = await database[POST_VIEWS].find_one({"_id": post_id})
    return cast(PostView, found) if found else None


async def posts_by_author(
    database: Database, author_id: str, limit: int, position: Position | None
) -> PostPage:
    query = {"author_id": author_id, **pagination.after(position, "_id")}
    # One extra item tells whether another page exists without a count query.
    found = await database[POST_VIEWS].find(query).sort(NEWEST_FIRST).limit(limit + 1).to_list(None)
    posts = cast(list[PostView], found)
    return _page(posts, limit, lambda post: Position(post["created_at"], post["_id"]))


async def home_timeline(
    database: Database, owner_id: str, limit: int, position: Position | None
) -> PostPage:
    query = {"owner_id": owner_id, **pagination.after(position, "post_id")}
    found = (
        await database[TIMELINE_ENTRIES]
        .find(query)
        .sort(TIMELINE_NEWEST_FIRST)
        .limit(limit + 1)
        .to_list(None)
    )
    entries = cast(list[TimelineEntry], found)
    has_more = len(entries) > limit
    entries = entries[:limit]
    posts = await _posts_in_order(database, [entry["post_id"] for entry in entries])
    last = entries[-1] if entries and has_more else None
    return PostPage(posts, Position(last["created_at"], last["post_id"]) if last else None)


async def _posts_in_order(database: Database, post_ids: list[str]) -> list[PostView]:
    """Hydrate timeline entries with one query; a post deleted meanwhile is simply left out."""
    if not post_ids:
        return []
    found = await database[POST_VIEWS].find({"_id": {"$in": post_ids}}).to_list(None)
    by_id = {post["_id"]: cast(PostView, post) for post in found}
    return [by_id[post_id] for post_id in post_ids if post_id in by_id]


def _page(
    items: list[PostView], limit: int, position_of: Callable[[PostView], Position]
) -> PostPage:
    if len(items) > limit:
        items = items[:limit]
        return PostPage(items, position_of(items[-1]))
    return PostPage(items, None)
