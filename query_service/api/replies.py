"""A post's replies."""

from http import HTTPStatus

from fastapi import APIRouter

from query_service.api.dependencies import (
    Page,
    ReadDatabase,
    hidden_authors,
    post_page,
)
from query_service.api.schemas import PostPage
from query_service.read_models.posts import post_by_id, replies_to
from service_kit.auth import OPTIONAL_AUTH_OPENAPI, OptionalPrincipal
from service_kit.ids import is_post_id
from service_kit.problems import Problem, problem_responses

router = APIRouter(tags=["posts"])


@router.get(
    "/posts/{post_id}/replies",
    summary="A post's replies, oldest first (without accounts the signed-in reader blocks)",
    responses=problem_responses(400, 401, 404),
    openapi_extra=OPTIONAL_AUTH_OPENAPI,
)
async def replies(
    post_id: str, page: Page, database: ReadDatabase, reader: OptionalPrincipal
) -> PostPage:
    parent = await post_by_id(database, post_id) if is_post_id(post_id) else None
    if parent is None:
        raise Problem(
            HTTPStatus.NOT_FOUND, f"No post has the id {post_id[:40]!r}.", slug="post-not-found"
        )
    hidden = await hidden_authors(database, reader)
    found = await replies_to(database, post_id, page.limit, page.position, hidden)
    return await post_page(database, reader, found)
