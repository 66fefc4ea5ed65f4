"""PyMongo's command monitoring, emitted by the embedded store as the driver emits it.

The services observe MongoDB through `pymongo.monitoring.CommandListener`s registered on the
client (`service_kit/observability/mongo.py`). So that the embedded store feeds the same series
through the same listener, its client takes `event_listeners` like `AsyncMongoClient`, and each
facade method that is one command on a server sends PyMongo's own `CommandStartedEvent`, then
`CommandSucceededEvent` or `CommandFailedEvent` with its duration, in the calling task, under the
command name the driver would send (`find_one` is a `find`, `count_documents` an `aggregate`,
`find_one_and_update` a `findAndModify`, ...; the tables below).

Kept apart from the facades: `monitored(table)` wraps a facade class's methods by name, and a
`find()` cursor reports its `find` when its query runs (its first fetch). What the store does not
send is not reported: no getMore (a cursor's results are all fetched at once; a change stream's
waits are not commands), no handshake or session commands. A bulk write of several kinds is, on
a server, one command per run of one kind: each is reported, with the bulk's duration on the
first and 0 on the others.
"""

from __future__ import annotations

import functools
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from pymongo import DeleteMany, DeleteOne, InsertOne
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)

T = TypeVar("T")
log = logging.getLogger(__name__)
ADDRESS = ("embedded", 0)  # the "server" every event names
# Facade method -> the command a server runs for it.
COLLECTION_COMMANDS = {
    "find_one": "find",
    "count_documents": "aggregate",
    "estimated_document_count": "count",
    "distinct": "distinct",
    "aggregate": "aggregate",
    "watch": "aggregate",
    "insert_one": "insert",
    "insert_many": "insert",
    "update_one": "update",
    "update_many": "update",
    "replace_one": "update",
    "delete_one": "delete",
    "delete_many": "delete",
    "find_one_and_update": "findAndModify",
    "find_one_and_replace": "findAndModify",
    "find_one_and_delete": "findAndModify",
    "bulk_write": "update",  # named by its requests (`_bulk_commands`)
    "create_index": "createIndexes",
    "create_indexes": "createIndexes",
    "drop_index": "dropIndexes",
    "list_indexes": "listIndexes",
    "drop": "drop",
    "rename": "renameCollection",
}
DATABASE_COMMANDS = {
    "command": "command",  # named by the command document
    "list_collection_names": "listCollections",
    "drop_collection": "drop",
    "watch": "aggregate",
}
CLIENT_COMMANDS = {"drop_database": "dropDatabase"}


class CommandEvents:
    """Sends one client's command events to its listeners."""

    def __init__(self, listeners: Sequence[CommandListener] = ()) -> None:
        self._listeners = tuple(listeners)
        self._request_ids = itertools.count(1)

    async def run(
        self, database: str, commands: Sequence[dict[str, Any]], call: Callable[[], Awaitable[T]]
    ) -> T:
        """Run `call` as these commands (usually one), reporting each."""
        if not self._listeners:
            return await call()
        ids = [next(self._request_ids) for _ in commands]
        first = CommandStartedEvent(commands[0], database, ids[0], ADDRESS, ids[0])
        name = first.command_name
        self._publish("started", first)
        began = time.perf_counter()
        try:
            result = await call()
        except BaseException as error:
            failure = {"ok": 0, "errmsg": str(error), "code": getattr(error, "code", None)}
            elapsed = timedelta(seconds=time.perf_counter() - began)
            self._publish(
                "failed",
                CommandFailedEvent(elapsed, failure, name, ids[0], ADDRESS, ids[0], None, database),
            )
            raise
        elapsed = timedelta(seconds=time.perf_counter() - began)
        self._publish(
            "succeeded",
            CommandSucceededEvent(
                elapsed, {"ok": 1}, name, ids[0], ADDRESS, ids[0], None, database
            ),
        )
        for command, request_id in zip(commands[1:], ids[1:], strict=True):
            started = CommandStartedEvent(command, database, request_id, ADDRESS, request_id)
            self._publish("started", started)
            self._publish(
                "succeeded",
                CommandSucceededEvent(
                    timedelta(0),
                    {"ok": 1},
                    started.command_name,
                    request_id,
                    ADDRESS,
                    request_id,
                    None,
                    database,
                ),
            )
        return result

    def _publish(self, kind: str, event: Any) -> None:
        for listener in self._listeners:
            try:
                getattr(listener, kind)(event)
            except Exception:  # as the driver: a listener's error never fails the command
                log.exception("command listener %r failed on %s", listener, kind)


def monitored(table: dict[str, str], *, find: bool = False) -> Callable[[type[T]], type[T]]:
    """A class decorator: each coroutine method named in `table` reports its command, and with
    `find`, the cursors of `find()` report theirs."""

    def decorate(cls: type[T]) -> type[T]:
        for method_name, command_name in table.items():
            original = getattr(cls, method_name, None)
            if original is not None:
                setattr(cls, method_name, _monitored_method(original, command_name))
        if find:
            cls.find = _monitored_find(cls.find)  # type: ignore[attr-defined]
        return cls

    return decorate


def _monitored_method(original: Callable[..., Any], command_name: str) -> Callable[..., Any]:
    @functools.wraps(original)
    async def reported(self: Any, *args: Any, **kwargs: Any) -> Any:
        events, database, commands = _commands_of(self, command_name, args, kwargs)
        return await events.run(database, commands, lambda: original(self, *args, **kwargs))

    return reported


def _monitored_find(original: Callable[..., Any]) -> Callable[..., Any]:
    """`find()` returns its cursor at once; the `find` command is its first fetch."""

    @functools.wraps(original)
    def find(self: Any, *args: Any, **kwargs: Any) -> Any:
        cursor = original(self, *args, **kwargs)
        fetch = cursor._ensure_fetched
        events: CommandEvents = self.database.client.commands
        database, command = self.database.name, {"find": self.name}

        async def fetched() -> Any:
            if cursor._results is not None:  # fetched already: no new command
                return await fetch()
            return await events.run(database, [command], fetch)

        cursor._ensure_fetched = fetched
        return cursor

    return find


def _commands_of(
    facade: Any, command_name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[CommandEvents, str, list[dict[str, Any]]]:
    """The client's events, the database and the commands a call to `facade` sends."""
    if hasattr(facade, "database"):  # a collection
        client, database, target = facade.database.client, facade.database.name, facade.name
        if command_name == "renameCollection":
            new_name = args[0] if args else kwargs.get("new_name")
            command = {"renameCollection": f"{database}.{target}", "to": f"{database}.{new_name}"}
            return client.commands, "admin", [command]
        if command_name == "update" and (args or "requests" in kwargs):
            requests = args[0] if args else kwargs["requests"]
            if isinstance(requests, Sequence) and not isinstance(requests, str | bytes):
                ordered = kwargs.get("ordered", args[1] if len(args) > 1 else True)
                return client.commands, database, _bulk_commands(target, requests, ordered)
        return client.commands, database, [{command_name: target}]
    if hasattr(facade, "client"):  # a database
        client, database = facade.client, facade.name
        if command_name == "drop":
            name = args[0] if args else kwargs.get("name_or_collection", "")
            return client.commands, database, [{"drop": getattr(name, "name", name)}]
        if command_name == "command":
            spec = args[0] if args else kwargs.get("command", "command")
            document = {spec: 1} if isinstance(spec, str) else dict(spec)
            return client.commands, database, [document or {"command": 1}]
        return client.commands, database, [{command_name: 1}]
    name = args[0] if args else kwargs.get("name_or_database", "")
    database = name if isinstance(name, str) else getattr(name, "name", "")
    return facade.commands, database, [{command_name: 1}]


def _bulk_commands(collection: str, requests: Sequence[Any], ordered: bool) -> list[dict[str, Any]]:
    """What PyMongo sends for a bulk write: one command per run of one kind when ordered, one
    per kind (inserts, updates, deletes) when not."""
    kinds = [_kind(request) for request in requests] or ["update"]
    if ordered:
        runs = [kind for kind, _ in itertools.groupby(kinds)]
    else:
        runs = [kind for kind in ("insert", "update", "delete") if kind in kinds]
    return [{kind: collection} for kind in runs]


def _kind(request: Any) -> str:
    if isinstance(request, InsertOne):
        return "insert"
    if isinstance(request, DeleteOne | DeleteMany):
        return "delete"
    return "update"
