"""Search: posts by words and hashtags, users by the start of their handle or display name."""

from http import HTTPStatus
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from query_service.api.dependencies import (
    ReadDatabase,
    hidden_authors,
    invalid_cursor,
    post_page,
)
from query_service.api.schemas import PostPage, User, UserPage
from query_service.read_models.pagination import (
    InvalidCursor,
    decode_cursor,
    decode_key_cursor,
    encode_key_cursor,
)
from query_service.read_models.search import query_terms, search_posts, search_users
from service_kit.auth import OPTIONAL_AUTH_OPENAPI, OptionalPrincipal
from service_kit.problems import Problem, problem_responses

router = APIRouter(tags=["search"])


def _unsearchable(detail: str) -> Problem:
    return Problem(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        detail,
        slug="validation",
        errors=[{"field": "query.q", "message": detail, "type": "value_error"}],
    )


@router.get(
    "/search",
    summary="Posts containing every word and hashtag of q (newest first; without accounts the "
    "signed-in reader blocks), or users whose handle or display name starts with q",
    responses=problem_responses(400, 401),
    openapi_extra=OPTIONAL_AUTH_OPENAPI,
)
async def search(
    database: ReadDatabase,
    reader: OptionalPrincipal,
    q: Annotated[str, Query(min_length=1, max_length=100, description="Words, #tags, @handles")],
    type: Annotated[Literal["posts", "users"], Query(description="What to search")] = "posts",
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page, 1-100")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=512, description="next_cursor of the previous page")
    ] = None,
) -> PostPage | UserPage:
    try:
        if type == "users":
            prefix = q.strip()
            if not prefix:
                raise _unsearchable("q has nothing to search for.")
            position = decode_key_cursor(cursor) if cursor else None
            users = await search_users(database, prefix, limit, position)
            return UserPage(
                items=[User.model_validate(user) for user in users.items],
                next_cursor=encode_key_cursor(users.next_position) if users.next_position else None,
            )
        terms = query_terms(q)
        if not terms:
            raise _unsearchable("q has no words, hashtags or mentions to search for.")
        post_position = decode_cursor(cursor) if cursor else None
    except InvalidCursor as error:
        raise invalid_cursor() from error
    hidden = await hidden_authors(database, reader)
    found = await search_posts(database, terms, limit, post_position, hidden)
    return await post_page(database, reader, found)
