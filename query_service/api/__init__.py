"""HTTP routes of the query service, all under /query/v1."""

from fastapi import APIRouter

from query_service.api import posts, timeline, users

router = APIRouter(prefix="/query/v1")
for module in (timeline, users, posts):
    router.include_router(module.router)
