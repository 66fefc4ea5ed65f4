"""The signed-in user's home timeline."""

from fastapi import APIRouter

from query_service.api.dependencies import Page, ReadDatabase, timeline_page
from query_service.api.schemas import TimelinePage
from query_service.read_models.home_timeline import home_timeline as home_timeline_page
from service_kit.auth import AppSettings, CurrentPrincipal
from service_kit.problems import problem_responses

router = APIRouter(tags=["timeline"])


@router.get(
    "/timeline",
    summary="Home timeline: your posts, and the posts and reposts of people you follow, newest first",
    responses=problem_responses(400, 401),
)
async def home_timeline(
    principal: CurrentPrincipal, page: Page, database: ReadDatabase, settings: AppSettings
) -> TimelinePage:
    max_entries = settings.timeline_max_entries
    found = await home_timeline_page(
        database, principal.user_id, page.limit, page.position, max_entries
    )
    return await timeline_page(database, principal, found)
