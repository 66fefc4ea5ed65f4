"""Sign-up and sign-in."""

from http import HTTPStatus

from fastapi import APIRouter

from command_service.api.dependencies import PasswordHashing, WriteDatabase
from command_service.api.schemas import AccessToken, RegisterUser, SignIn, UserCreated
from command_service.commands import accounts
from service_kit.auth import AppSettings

router = APIRouter(tags=["accounts"])


@router.post("/users", status_code=HTTPStatus.CREATED, summary="Sign up")
async def register(
    body: RegisterUser, database: WriteDatabase, passwords: PasswordHashing
) -> UserCreated:
    user = await accounts.register_user(
        database,
        passwords,
        handle=body.handle,
        password=body.password,
        display_name=body.display_name,
    )
    return UserCreated(
        id=str(user["_id"]), handle=user["handle"], display_name=user["display_name"]
    )


@router.post("/sessions", summary="Sign in: exchange handle and password for an access token")
async def sign_in(
    body: SignIn, database: WriteDatabase, passwords: PasswordHashing, settings: AppSettings
) -> AccessToken:
    token = await accounts.sign_in(
        database, passwords, settings, handle=body.handle, password=body.password
    )
    return AccessToken(access_token=token.access_token, expires_in=token.expires_in)
