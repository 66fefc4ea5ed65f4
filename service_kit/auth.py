"""The FastAPI dependency that turns `Authorization: Bearer <jwt>` into a `Principal`."""

from http import HTTPStatus
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service_kit.observability.context import note_user
from service_kit.problems import Problem
from service_kit.settings import Settings
from service_kit.tokens import InvalidToken, Principal, verify_access_token

_bearer = HTTPBearer(auto_error=False, description="A JWT from POST /command/v1/sessions")


def unauthorized(detail: str) -> Problem:
    return Problem(
        HTTPStatus.UNAUTHORIZED,
        detail,
        slug="unauthorized",
        headers={"WWW-Authenticate": 'Bearer realm="microblog"'},
    )


async def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def current_principal(
    settings: Annotated[Settings, Depends(app_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise unauthorized("Send an access token: Authorization: Bearer <token>.")
    try:
        principal = verify_access_token(settings, credentials.credentials)
    except InvalidToken as error:
        raise unauthorized("The access token is invalid or expired.") from error
    note_user(principal.user_id)  # for the request's log line
    return principal


async def optional_principal(
    settings: Annotated[Settings, Depends(app_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """For reads open to everyone that say more to a signed-in reader (their likes, their blocks):
    None without a token, and a 401 for a token that is sent but invalid (never silently
    anonymous)."""
    if credentials is None:
        return None
    return await current_principal(settings, credentials)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
AppSettings = Annotated[Settings, Depends(app_settings)]


# For the routes that take an `OptionalPrincipal`: FastAPI appends this to the bearer requirement
# it declares, and an empty requirement in OpenAPI's `security` means "or none at all".
OPTIONAL_AUTH_OPENAPI: dict[str, Any] = {"security": [{}]}
