"""Writing and deleting posts."""

from http import HTTPStatus

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from command_service.api.dependencies import CurrentWriter, IdempotencyKey, WriteDatabase
from command_service.api.schemas import CreatePost, PostCreated
from command_service.commands import idempotency, posts
from service_kit.problems import problem_responses

router = APIRouter(tags=["posts"])


@router.post(
    "/posts",
    status_code=HTTPStatus.CREATED,
    summary="Write a post or a reply (403 replying when one of you blocks the other)",
    response_model=PostCreated,
    responses=problem_responses(400, 401, 403, 404, 409, 429),
)
async def create_post(
    body: CreatePost,
    principal: CurrentWriter,
    database: WriteDatabase,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def create() -> tuple[int, dict[str, object]]:
        post = await posts.create_post(database, principal, text=body.text, reply_to=body.reply_to)
        created = PostCreated(
            id=str(post["_id"]),
            author_id=str(post["author_id"]),
            text=post["text"],
            reply_to=str(post["reply_to"]) if post["reply_to"] else None,
            created_at=post["created_at"],
        )
        return HTTPStatus.CREATED, created.model_dump(mode="json")

    if idempotency_key is None:
        status, content = await create()
        replayed = False
    else:
        outcome = await idempotency.run_once(
            database,
            scope=f"posts:{principal.user_id}",
            key=idempotency_key,
            request=body.model_dump(),
            command=create,
        )
        status, content, replayed = outcome.status, outcome.body, outcome.replayed
    headers = {"Location": f"/query/v1/posts/{content['id']}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(content, status_code=status, headers=headers)


@router.delete(
    "/posts/{post_id}",
    status_code=HTTPStatus.NO_CONTENT,
    response_class=Response,
    summary="Delete your post",
    responses=problem_responses(401, 403, 404, 429),
)
async def delete_post(post_id: str, principal: CurrentWriter, database: WriteDatabase) -> None:
    await posts.delete_post(database, principal, post_id)
