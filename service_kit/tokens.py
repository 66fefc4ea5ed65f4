"""Access tokens: HS256 JWTs issued by the command service and verified by both services."""

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt

from service_kit.settings import Settings

ALGORITHM = "HS256"
# Clock skew tolerated between the process that issued a token and the one that verifies it.
LEEWAY_SECONDS = 30
_OBJECT_ID = re.compile(r"[0-9a-f]{24}")


@dataclass(frozen=True)
class Principal:
    """Who a verified token speaks for."""

    user_id: str
    handle: str
    session_id: str | None = None  # the refresh-token family this access token was issued in


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
    if principal.session_id is not None:
        claims["sid"] = principal.session_id
    token = jwt.encode(claims, _signing_key(settings), algorithm=ALGORITHM)
    return IssuedToken(access_token=token, expires_in=settings.jwt_ttl_seconds)


def verify_access_token(settings: Settings, token: str) -> Principal:
    """The principal a token speaks for; `InvalidToken` for anything else, whatever the input.

    Beyond the signature, issuer and expiry, the token must not be issued in the future, and its
    lifetime (exp - iat) must not exceed JWT_TTL_SECONDS, so a leaked secret or an old key cannot
    mint tokens that live for years. The subject must be an id this API issues.
    """
    try:
        claims = jwt.decode(
            token,
            _signing_key(settings),
            algorithms=[ALGORITHM],
            issuer=settings.jwt_issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["sub", "exp", "iat", "iss"]},
        )
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError) as error:
        raise InvalidToken(str(error)) from error
    subject, handle, session = claims.get("sub"), claims.get("handle"), claims.get("sid")
    if not isinstance(subject, str) or not _OBJECT_ID.fullmatch(subject):
        raise InvalidToken("the subject is not a user id")
    if not isinstance(handle, str) or not (session is None or isinstance(session, str)):
        raise InvalidToken("token claims are malformed")
    issued_at, expires_at = claims["iat"], claims["exp"]
    if not all(isinstance(value, int | float) for value in (issued_at, expires_at)):
        raise InvalidToken("token times are not numbers")
    if expires_at - issued_at > settings.jwt_ttl_seconds:
        raise InvalidToken("the token lives longer than this API issues tokens for")
    return Principal(user_id=subject, handle=handle, session_id=session)
