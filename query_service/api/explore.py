"""Explore: recent posts from everyone, and the hashtags of the last 24 hours."""

from typing import Annotated

from fastapi import APIRouter, Query

from query_service.api.dependencies import (
    Page,
    ReadDatabase,
    hidden_authors,
    post_page,
)
from query_service.api.schemas import HashtagCount, PostPage, TrendingHashtags
from query_service.read_models.explore import explore_page
from query_service.read_models.hashtags import top_hashtags, window_start
from service_kit.auth import OPTIONAL_AUTH_OPENAPI, OptionalPrincipal
from service_kit.clock import utc_now
from service_kit.problems import problem_responses

router = APIRouter(tags=["explore"])


@router.get(
    "/explore",
    summary="Recent posts from everyone, newest first: posts and self-replies, not replies to "
    "others (like Mastodon's public timeline); without accounts the signed-in reader blocks",
    responses=problem_responses(400, 401),
    openapi_extra=OPTIONAL_AUTH_OPENAPI,
)
async def explore(page: Page, database: ReadDatabase, reader: OptionalPrincipal) -> PostPage:
    hidden = await hidden_authors(database, reader)
    found = await explore_page(database, page.limit, page.position, hidden)
    return await post_page(database, reader, found)


@router.get(
    "/explore/hashtags",
    summary="The most used hashtags of the last 24 hours (whole hours), with their counts",
)
async def hashtags(
    database: ReadDatabase,
    limit: Annotated[int, Query(ge=1, le=100, description="How many tags, 1-100")] = 10,
) -> TrendingHashtags:
    since = window_start(utc_now())
    found = await top_hashtags(database, since, limit)
    return TrendingHashtags(items=[HashtagCount(**tag) for tag in found], since=since)
