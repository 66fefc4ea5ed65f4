"""Liking and reposting posts, and taking either back; all idempotent."""

from http import HTTPStatus

from fastapi import APIRouter, Response

from command_service.api.dependencies import CurrentWriter, WriteDatabase
from command_service.api.schemas import PostId
from command_service.commands import reactions
from service_kit.problems import problem_responses

router = APIRouter(tags=["likes and reposts"])


@router.put(
    "/posts/{post_id}/like",
    summary="Like a post",
    responses=problem_responses(401, 403, 404, 429),
    status_code=HTTPStatus.NO_CONTENT,
    response_class=Response,
)
async def like(post_id: PostId, principal: CurrentWriter, database: WriteDatabase) -> None:
    await reactions.like(database, principal, post_id)


@router.delete(
    "/posts/{post_id}/like",
    summary="Take back your like",
    responses=problem_responses(401, 404, 429),
    status_code=HTTPStatus.NO_CONTENT,
    response_class=Response,
)
async def unlike(post_id: PostId, principal: CurrentWriter, database: WriteDatabase) -> None:
    await reactions.unlike(database, principal, post_id)


@router.put(
    "/posts/{post_id}/repost",
    summary="Repost a post (your own too)",
    responses=problem_responses(401, 403, 404, 429),
    status_code=HTTPStatus.NO_CONTENT,
    response_class=Response,
)
async def repost(post_id: PostId, principal: CurrentWriter, database: WriteDatabase) -> None:
    await reactions.repost(database, principal, post_id)


@router.delete(
    "/posts/{post_id}/repost",
    summary="Take back your repost",
    responses=problem_responses(401, 404, 429),
    status_code=HTTPStatus.NO_CONTENT,
    response_class=Response,
)
async def unrepost(post_id: PostId, principal: CurrentWriter, database: WriteDatabase) -> None:
    await reactions.unrepost(database, principal, post_id)
