"""What query handlers receive: the database and a validated page request."""

from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated

from fastapi import Depends, Query, Request

from query_service.api.schemas import Post, PostPage
from query_service.read_models import pagination
from query_service.read_models.pagination import (
    InvalidCursor,
    Position,
    decode_cursor,
    encode_cursor,
)
from query_service.read_models.posts import PostView
from service_kit.mongo import Database
from service_kit.problems import Problem


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
        raise Problem(
            HTTPStatus.BAD_REQUEST, "The cursor is not one this API issued.", slug="invalid-cursor"
        ) from error
    return PageRequest(limit=limit, position=position)


Page = Annotated[PageRequest, Depends(page_request)]


def post_page(page: pagination.Page[PostView]) -> PostPage:
    return PostPage(
        items=[Post.model_validate(view) for view in page.items],
        next_cursor=encode_cursor(page.next_position) if page.next_position else None,
    )
