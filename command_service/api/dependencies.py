"""What command handlers receive from the application: the database and the password hasher."""

from typing import Annotated

from fastapi import Depends, Request

from command_service.passwords import Passwords
from service_kit.mongo import Database


def database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def passwords(request: Request) -> Passwords:
    hasher: Passwords = request.app.state.passwords
    return hasher


WriteDatabase = Annotated[Database, Depends(database)]
PasswordHashing = Annotated[Passwords, Depends(passwords)]
