"""HTTP routes of the command service, all under /command/v1."""

from fastapi import APIRouter

from command_service.api import accounts, follows, notifications, posts, profile, reactions

router = APIRouter(prefix="/command/v1")
for module in (accounts, posts, follows, reactions, profile, notifications):
    router.include_router(module.router)
