"""Sign-up, sign-in, refresh and sign-out."""

from http import HTTPStatus

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from command_service.api.dependencies import (
    ClientAddress,
    IdempotencyKey,
    Limits,
    PasswordHashing,
    WriteDatabase,
)
from command_service.api.schemas import AccessToken, Refresh, RegisterUser, SignIn, UserCreated
from command_service.commands import accounts, idempotency, sessions
from service_kit.auth import AppSettings, CurrentPrincipal
from service_kit.problems import problem_responses
from service_kit.text import handle_key

router = APIRouter(tags=["accounts"])


@router.post(
    "/users",
    status_code=HTTPStatus.CREATED,
    summary="Sign up",
    response_model=UserCreated,
    responses=problem_responses(400, 409, 429),
)
async def register(
    body: RegisterUser,
    database: WriteDatabase,
    passwords: PasswordHashing,
    limits: Limits,
    settings: AppSettings,
    client: ClientAddress,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    await limits.hit(settings.rate_limit_sign_up_per_ip, "sign-ups", "sign-up-ip", client)

    async def create() -> tuple[int, dict[str, object]]:
        user = await accounts.register_user(
            database,
            passwords,
            handle=body.handle,
            password=body.password,
            display_name=body.display_name,
        )
        created = UserCreated(
            id=str(user["_id"]), handle=user["handle"], display_name=user["display_name"]
        )
        return HTTPStatus.CREATED, created.model_dump(mode="json")

    if idempotency_key is None:
        status, content = await create()
        return JSONResponse(content, status_code=status)
    # The password stays out of the stored fingerprint: the handle decides the outcome anyway.
    outcome = await idempotency.run_once(
        database,
        scope="users",
        key=idempotency_key,
        request={"handle": body.handle, "display_name": body.display_name},
        command=create,
    )
    return JSONResponse(
        outcome.body,
        status_code=outcome.status,
        headers={"Idempotent-Replayed": "true"} if outcome.replayed else None,
    )


@router.post(
    "/sessions",
    summary="Sign in: exchange handle and password for an access token and a refresh token",
    responses=problem_responses(400, 401, 429),
)
async def sign_in(
    body: SignIn,
    database: WriteDatabase,
    passwords: PasswordHashing,
    settings: AppSettings,
    limits: Limits,
    client: ClientAddress,
) -> AccessToken:
    await limits.hit(settings.rate_limit_sign_in_per_ip, "sign-in attempts", "sign-in-ip", client)
    handle = handle_key(body.handle)
    if handle is not None:
        await limits.hit(
            settings.rate_limit_sign_in_per_handle, "sign-in attempts", "sign-in-handle", handle
        )
    session = await accounts.sign_in(
        database, passwords, settings, handle=body.handle, password=body.password
    )
    return AccessToken(**vars(session))


@router.post(
    "/sessions/refresh",
    summary="Exchange a refresh token (single use) for a new access token and refresh token",
    responses=problem_responses(400, 401, 429),
)
async def refresh(
    body: Refresh,
    database: WriteDatabase,
    settings: AppSettings,
    limits: Limits,
    client: ClientAddress,
) -> AccessToken:
    await limits.hit(settings.rate_limit_refresh_per_ip, "refreshes", "refresh-ip", client)
    session = await sessions.refresh(database, settings, body.refresh_token)
    return AccessToken(**vars(session))


@router.delete(
    "/sessions",
    status_code=HTTPStatus.NO_CONTENT,
    response_class=Response,
    summary="Sign out: the session's refresh tokens stop working",
    responses=problem_responses(401),
)
async def sign_out(principal: CurrentPrincipal, database: WriteDatabase) -> None:
    await sessions.sign_out(database, principal)
