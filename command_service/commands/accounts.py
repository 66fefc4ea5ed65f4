"""Sign-up and sign-in."""

from command_service.commands.errors import HandleTaken, InvalidCredentials
from command_service.commands.sessions import Session, start_session
from command_service.passwords import Passwords
from command_service.write_model import users
from service_kit.mongo import Database
from service_kit.settings import Settings
from service_kit.text import is_valid_handle
from service_kit.tokens import Principal
from service_kit.write_model import UserDocument


async def register_user(
    database: Database, passwords: Passwords, *, handle: str, password: str, display_name: str
) -> UserDocument:
    # The early check spares an Argon2 hash for a taken handle; the unique index decides races.
    if await users.find_user_by_handle(database, handle) is not None:
        raise HandleTaken(handle)
    password_hash = await passwords.hash(password)
    try:
        return await users.insert_user(
            database, handle=handle, display_name=display_name, password_hash=password_hash
        )
    except users.HandleAlreadyStored as error:
        raise HandleTaken(handle) from error


async def sign_in(
    database: Database, passwords: Passwords, settings: Settings, *, handle: str, password: str
) -> Session:
    if not is_valid_handle(handle):
        # No account can have it (sign-up's rules are public), so no hash is spent on it.
        raise InvalidCredentials
    user = await users.find_user_by_handle(database, handle)
    # An unknown handle still pays for a verification, so timing does not reveal which was wrong.
    verified = await passwords.verify(user["password_hash"] if user else None, password)
    if user is None or not verified:
        raise InvalidCredentials
    if passwords.needs_rehash(user["password_hash"]):
        await users.replace_password_hash(database, user["_id"], await passwords.hash(password))
    principal = Principal(user_id=str(user["_id"]), handle=user["handle"])
    return await start_session(database, settings, principal)
