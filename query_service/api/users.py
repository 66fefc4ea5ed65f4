"""User pages."""

from http import HTTPStatus

from fastapi import APIRouter

from query_service.api.dependencies import Page, ReadDatabase, post_page
from query_service.api.schemas import PostPage, User, UserPage
from query_service.read_models import pagination
from query_service.read_models.follows import followers_page, following_page
from query_service.read_models.pagination import encode_cursor
from query_service.read_models.posts import posts_by_author
from query_service.read_models.users import UserView, user_by_handle
from service_kit.auth import OPTIONAL_AUTH_OPENAPI, OptionalPrincipal
from service_kit.mongo import Database
from service_kit.problems import Problem, problem_responses
from service_kit.text import is_valid_handle

router = APIRouter(tags=["users"])


async def _user_or_404(database: Database, handle: str) -> UserView:
    # Sign-up's rules first: a look-alike or malformed handle names nobody.
    user = await user_by_handle(database, handle) if is_valid_handle(handle) else None
    if user is None:
        raise Problem(
            HTTPStatus.NOT_FOUND, f"No user has the handle {handle[:40]!r}.", slug="user-not-found"
        )
    return user


@router.get(
    "/users/{handle}", summary="A user's profile and counts", responses=problem_responses(404)
)
async def get_user(handle: str, database: ReadDatabase) -> User:
    return User.model_validate(await _user_or_404(database, handle))


@router.get(
    "/users/{handle}/posts",
    summary="A user's posts and replies, newest first",
    responses=problem_responses(400, 401, 404),
    openapi_extra=OPTIONAL_AUTH_OPENAPI,
)
async def user_posts(
    handle: str, page: Page, database: ReadDatabase, reader: OptionalPrincipal
) -> PostPage:
    user = await _user_or_404(database, handle)
    found = await posts_by_author(database, user["_id"], page.limit, page.position)
    return await post_page(database, reader, found)


@router.get(
    "/users/{handle}/followers",
    summary="Who follows the user, newest follow first (user summaries with counts)",
    responses=problem_responses(400, 404),
)
async def followers(handle: str, page: Page, database: ReadDatabase) -> UserPage:
    user = await _user_or_404(database, handle)
    return user_page(await followers_page(database, user["_id"], page.limit, page.position))


@router.get(
    "/users/{handle}/following",
    summary="Whom the user follows, newest follow first (user summaries with counts)",
    responses=problem_responses(400, 404),
)
async def following(handle: str, page: Page, database: ReadDatabase) -> UserPage:
    user = await _user_or_404(database, handle)
    return user_page(await following_page(database, user["_id"], page.limit, page.position))


def user_page(page: pagination.Page[UserView]) -> UserPage:
    return UserPage(
        items=[User.model_validate(view) for view in page.items],
        next_cursor=encode_cursor(page.next_position) if page.next_position else None,
    )
