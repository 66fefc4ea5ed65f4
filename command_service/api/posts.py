"""Writing and deleting posts."""

from http import HTTPStatus

from fastapi import APIRouter, Response

from command_service.api.dependencies import WriteDatabase
from command_service.api.schemas import CreatePost, PostCreated
from command_service.commands import posts
from service_kit.auth import CurrentPrincipal

router = APIRouter(tags=["posts"])


@router.post("/posts", status_code=HTTPStatus.CREATED, summary="Write a post or a reply")
async def create_post(
    body: CreatePost, principal: CurrentPrincipal, database: WriteDatabase, response: Response
) -> PostCreated:
    post = await posts.create_post(database, principal, text=body.text, reply_to=body.reply_to)
    response.headers["Location"] = f"/query/v1/posts/{post['_id']}"
    return PostCreated(
        id=str(post["_id"]),
        author_id=str(post["author_id"]),
        text=post["text"],
        reply_to=str(post["reply_to"]) if post["reply_to"] else None,
        created_at=post["created_at"],
    )


@router.delete("/posts/{post_id}", status_code=HTTPStatus.NO_CONTENT, summary="Delete your post")
async def delete_post(post_id: str, principal: CurrentPrincipal, database: WriteDatabase) -> None:
    await posts.delete_post(database, principal, post_id)
