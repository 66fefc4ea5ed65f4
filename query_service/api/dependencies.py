"""What query handlers receive: the database and a validated page request."""

from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from query_service.api.schemas import Post, PostPage, TimelinePage, TimelinePost
from query_service.read_models import pagination
from query_service.read_models.blocks import blocked_by
from query_service.read_models.home_timeline import TimelineItem
from query_service.read_models.pagination import (
    InvalidCursor,
    Position,
    decode_cursor,
    encode_cursor,
)
from query_service.read_models.posts import PostView
from query_service.read_models.viewer import for_viewer
from service_kit.mongo import Database
from service_kit.problems import Problem
from service_kit.tokens import Principal


async def database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


ReadDatabase = Annotated[Database, Depends(database)]


@dataclass(frozen=True)
class PageRequest:
    limit: int
    position: Position | None


async def page_request(
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page, 1-100")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=512, description="next_cursor of the previous page")
    ] = None,
) -> PageRequest:
    try:
        position = decode_cursor(cursor) if cursor else None
    except InvalidCursor as error:
        raise invalid_cursor() from error
    return PageRequest(limit=limit, position=position)


Page = Annotated[PageRequest, Depends(page_request)]


def invalid_cursor() -> Problem:
    return Problem(
        HTTPStatus.BAD_REQUEST, "The cursor is not one this API issued.", slug="invalid-cursor"
    )


async def hidden_authors(database: Database, reader: Principal | None) -> set[str]:
    """The accounts whose posts a reader's discovery lists leave out: those the reader blocks
    (one indexed query; nothing for an anonymous reader)."""
    return await blocked_by(database, reader.user_id) if reader is not None else set()


async def post_page(
    database: Database, viewer: Principal | None, page: pagination.Page[PostView]
) -> PostPage:
    """A page of posts as the API shows it to `viewer` (None: anonymous), through `for_viewer`."""
    return PostPage(
        items=await posts_for(database, viewer, page.items),
        next_cursor=next_cursor(page),
    )


async def posts_for(
    database: Database, viewer: Principal | None, views: list[PostView]
) -> list[Post]:
    shown = await for_viewer(database, viewer.user_id if viewer else None, views)
    return [Post.model_validate(view) for view in shown]


async def timeline_page(
    database: Database, viewer: Principal, page: pagination.Page[TimelineItem]
) -> TimelinePage:
    """A page of the home timeline: posts as `post_page` shows them, with who reposted them."""
    shown = await for_viewer(database, viewer.user_id, list(page.items))
    return TimelinePage(
        items=[TimelinePost.model_validate(item) for item in shown],
        next_cursor=next_cursor(page),
    )


def next_cursor(page: pagination.Page[Any]) -> str | None:
    return encode_cursor(page.next_position) if page.next_position else None
