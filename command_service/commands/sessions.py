"""Sessions: short-lived access tokens plus single-use, rotating refresh tokens.

A sign-in starts a *family*. Each refresh uses up its token and issues the next one in the same
family. Presenting a used token again means it was copied (by a thief or a replaying client), so
the whole family is revoked: the thief and the user are both signed out of that session.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bson import ObjectId

from command_service.commands.errors import InvalidRefreshToken
from command_service.write_model import sessions, users
from service_kit.mongo import Database
from service_kit.settings import Settings
from service_kit.tokens import Principal, issue_access_token


@dataclass(frozen=True)
class Session:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def start_session(database: Database, settings: Settings, principal: Principal) -> Session:
    return await _issue(database, settings, principal, family_id=secrets.token_hex(16))


async def _issue(
    database: Database, settings: Settings, principal: Principal, *, family_id: str
) -> Session:
    token_id, secret = secrets.token_hex(16), secrets.token_urlsafe(32)
    await sessions.insert_refresh_token(
        database,
        token_id=token_id,
        family_id=family_id,
        user_id=ObjectId(principal.user_id),
        secret_hash=_digest(secret),
        expires_at=datetime.now(UTC) + timedelta(seconds=settings.refresh_ttl_seconds),
    )
    access = issue_access_token(
        settings,
        Principal(user_id=principal.user_id, handle=principal.handle, session_id=family_id),
    )
    return Session(
        access_token=access.access_token,
        expires_in=access.expires_in,
        refresh_token=f"{token_id}.{secret}",
        refresh_expires_in=settings.refresh_ttl_seconds,
    )


async def refresh(database: Database, settings: Settings, refresh_token: str) -> Session:
    token_id, _, secret = refresh_token.partition(".")
    stored = await sessions.find_refresh_token(database, token_id) if secret else None
    if stored is None or not hmac.compare_digest(stored["secret_hash"], _digest(secret)):
        raise InvalidRefreshToken
    expires_at = stored["expires_at"]
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    if stored["revoked"] or expires_at <= datetime.now(UTC):
        raise InvalidRefreshToken
    if not await sessions.mark_used(database, token_id):
        # Used before: a copy is being replayed. Nobody may continue this session.
        await sessions.revoke_family(database, stored["family_id"])
        raise InvalidRefreshToken
    user = await users.find_user_by_id(database, stored["user_id"])
    if user is None:
        raise InvalidRefreshToken
    principal = Principal(user_id=str(user["_id"]), handle=user["handle"])
    return await _issue(database, settings, principal, family_id=stored["family_id"])


async def sign_out(database: Database, principal: Principal) -> None:
    """End the session the access token belongs to: its refresh tokens stop working."""
    if principal.session_id is not None:
        await sessions.revoke_family(database, principal.session_id)
