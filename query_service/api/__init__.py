"""HTTP routes of the query service, all under /query/v1."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query

from query_service.api import explore, notifications, posts, replies, search, timeline, users
from service_kit.consistency import TOKEN_HEADER, TOKEN_PARAMETER
from service_kit.problems import problem_responses


def read_your_writes(
    token_header: Annotated[
        str | None,
        Header(
            alias=TOKEN_HEADER,
            description="A write's X-Consistency-Token: answer once the write is projected",
        ),
    ] = None,
    token_parameter: Annotated[
        str | None,
        Query(alias=TOKEN_PARAMETER, description="The same token, as a query parameter"),
    ] = None,
) -> None:
    """Declares the token in the OpenAPI documents; the middleware in `api/consistency.py` waits
    for it (before this runs) and answers 400 for a token this API did not issue."""


router = APIRouter(
    prefix="/query/v1",
    dependencies=[Depends(read_your_writes)],
    responses=problem_responses(400),
)
for module in (timeline, users, posts, replies, explore, search, notifications):
    router.include_router(module.router)
