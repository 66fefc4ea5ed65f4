"""Single posts."""

from http import HTTPStatus

from fastapi import APIRouter

from query_service.api.dependencies import ReadDatabase
from query_service.api.schemas import Post
from query_service.read_models.posts import post_by_id
from service_kit.ids import is_post_id
from service_kit.problems import Problem, problem_responses

router = APIRouter(tags=["posts"])


@router.get(
    "/posts/{post_id}",
    summary="A post with its author and counts",
    responses=problem_responses(404),
)
async def get_post(post_id: str, database: ReadDatabase) -> Post:
    view = await post_by_id(database, post_id) if is_post_id(post_id) else None
    if view is None:
        raise Problem(
            HTTPStatus.NOT_FOUND, f"No post has the id {post_id[:40]!r}.", slug="post-not-found"
        )
    return Post.model_validate(view)
