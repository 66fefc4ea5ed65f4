"""One causally consistent session per command, so its response can carry the write's cluster time.

`command_scope` opens the session around a request; write-model functions pass
`**session_options()` to each driver write and call `wrote()` when something really changed (an
idempotent repeat changes nothing, and there is nothing to wait for).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from bson.timestamp import Timestamp

from service_kit.mongo import Database


@dataclass
class CommandScope:
    session: Any  # pymongo's AsyncClientSession (or the embedded store's)
    changed: bool = False

    @property
    def cluster_time(self) -> Timestamp | None:
        """The cluster time of the command's latest write, if it changed anything."""
        operation_time: Timestamp | None = self.session.operation_time
        return operation_time if self.changed else None


_scope: ContextVar[CommandScope | None] = ContextVar("command_scope", default=None)


@asynccontextmanager
async def command_scope(database: Database) -> AsyncIterator[CommandScope]:
    async with database.client.start_session(causal_consistency=True) as session:
        scope = CommandScope(session)
        reset = _scope.set(scope)
        try:
            yield scope
        finally:
            _scope.reset(reset)


def session_options() -> dict[str, Any]:
    scope = _scope.get()
    return {"session": scope.session} if scope is not None else {}


def wrote() -> None:
    scope = _scope.get()
    if scope is not None:
        scope.changed = True
