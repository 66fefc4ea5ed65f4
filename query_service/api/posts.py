"""Single posts."""

from http import HTTPStatus

from fastapi import APIRouter

from query_service.api.dependencies import ReadDatabase
from query_service.api.schemas import Post
from query_service.read_models.posts import post_by_id
from service_kit.problems import Problem

router = APIRouter(tags=["posts"])


@router.get("/posts/{post_id}", summary="A post with its author and counts")
async def get_post(post_id: str, database: ReadDatabase) -> Post:
    view = await post_by_id(database, post_id)
    if view is None:
        raise Problem(
            HTTPStatus.NOT_FOUND, f"No post has the id {post_id!r}.", slug="post-not-found"
        )
    return Post.model_validate(view)
