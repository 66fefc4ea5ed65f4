"""Access tokens: HS256 JWTs issued by the command service and verified by both services."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt

from service_kit.settings import Settings

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    """Who a verified token speaks for."""

    user_id: str
    handle: str


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


class InvalidToken(Exception):
    pass


@lru_cache(maxsize=1)
def _ephemeral_secret() -> str:
    # Embedded mode runs every service in one process, so a per-process secret is enough there.
    return secrets.token_urlsafe(48)


def _signing_key(settings: Settings) -> str:
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value()
    return _ephemeral_secret()


def issue_access_token(settings: Settings, principal: Principal) -> IssuedToken:
    now = datetime.now(UTC)
    claims = {
        "sub": principal.user_id,
        "handle": principal.handle,
        "iss": settings.jwt_issuer,
        "iat": now,
        "exp": now + timedelta(seconds=settings.jwt_ttl_seconds),
    }
    token = jwt.encode(claims, _signing_key(settings), algorithm=ALGORITHM)
    return IssuedToken(access_token=token, expires_in=settings.jwt_ttl_seconds)


def verify_access_token(settings: Settings, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            _signing_key(settings),
            algorithms=[ALGORITHM],
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "exp", "iat", "iss"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(str(error)) from error
    subject, handle = claims.get("sub"), claims.get("handle")
    if not isinstance(subject, str) or not isinstance(handle, str):
        raise InvalidToken("token claims are malformed")
    return Principal(user_id=subject, handle=handle)
