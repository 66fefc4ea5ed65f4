"""HTTP routes of the command service, all under /command/v1."""

from fastapi import APIRouter

from command_service.api import (
    accounts,
    blocks,
    follows,
    notifications,
    posts,
    profile,
    reactions,
)

router = APIRouter(prefix="/command/v1")
for module in (accounts, posts, follows, reactions, profile, notifications, blocks):
    router.include_router(module.router)
