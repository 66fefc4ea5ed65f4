"""What command handlers receive: the database, the hasher, the limits, and the signed-in writer.

All of these are `async def`: none needs a thread, so none costs a thread-pool hop.
"""

from typing import Annotated

from bson import ObjectId
from fastapi import Depends, Header, Request

from command_service.passwords import Passwords
from command_service.write_model import users
from service_kit.auth import AppSettings, CurrentPrincipal, unauthorized
from service_kit.client_ip import client_ip
from service_kit.mongo import Database
from service_kit.rate_limits import RateLimits
from service_kit.tokens import Principal


async def database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


async def passwords(request: Request) -> Passwords:
    hasher: Passwords = request.app.state.passwords
    return hasher


async def rate_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


async def client_address(request: Request, settings: AppSettings) -> str:
    return client_ip(request, settings.trusted_proxies)


WriteDatabase = Annotated[Database, Depends(database)]
PasswordHashing = Annotated[Passwords, Depends(passwords)]
Limits = Annotated[RateLimits, Depends(rate_limits)]
ClientAddress = Annotated[str, Depends(client_address)]


async def current_writer(
    principal: CurrentPrincipal, db: WriteDatabase, limits: Limits, settings: AppSettings
) -> Principal:
    """A verified token whose subject is an existing user, within the per-user write limit."""
    if not await users.user_exists(db, ObjectId(principal.user_id)):
        raise unauthorized("The access token's user does not exist.")
    await limits.hit(settings.rate_limit_writes_per_user, "writes", "writes", principal.user_id)
    return principal


CurrentWriter = Annotated[Principal, Depends(current_writer)]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Retry with the same key and body to get the first result, never a duplicate",
    ),
]
