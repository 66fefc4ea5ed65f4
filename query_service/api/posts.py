"""Single posts and who liked them."""

from http import HTTPStatus

from fastapi import APIRouter

from query_service.api.dependencies import Page, ReadDatabase, next_cursor, posts_for
from query_service.api.schemas import Post, UserSummary, UserSummaryPage
from query_service.read_models.posts import PostView, post_by_id
from query_service.read_models.reactions import likes_of
from query_service.read_models.users import summaries_by_id
from service_kit.auth import OPTIONAL_AUTH_OPENAPI, OptionalPrincipal
from service_kit.ids import is_post_id
from service_kit.mongo import Database
from service_kit.problems import Problem, problem_responses

router = APIRouter(tags=["posts"])


async def _post_or_404(database: Database, post_id: str) -> PostView:
    view = await post_by_id(database, post_id) if is_post_id(post_id) else None
    if view is None:
        raise Problem(
            HTTPStatus.NOT_FOUND, f"No post has the id {post_id[:40]!r}.", slug="post-not-found"
        )
    return view


@router.get(
    "/posts/{post_id}",
    summary="A post with its author and counts",
    responses=problem_responses(401, 404),
    openapi_extra=OPTIONAL_AUTH_OPENAPI,
)
async def get_post(post_id: str, database: ReadDatabase, viewer: OptionalPrincipal) -> Post:
    view = await _post_or_404(database, post_id)
    return (await posts_for(database, viewer, [view]))[0]


@router.get(
    "/posts/{post_id}/likes",
    summary="Who liked a post, newest like first",
    responses=problem_responses(400, 404),
)
async def post_likes(post_id: str, page: Page, database: ReadDatabase) -> UserSummaryPage:
    await _post_or_404(database, post_id)
    likes = await likes_of(database, post_id, page.limit, page.position)
    users = await summaries_by_id(database, [like["user_id"] for like in likes.items])
    return UserSummaryPage(
        items=[
            UserSummary.model_validate(users[like["user_id"]])
            for like in likes.items
            if like["user_id"] in users
        ],
        next_cursor=next_cursor(likes),
    )
