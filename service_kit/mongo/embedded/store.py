"""The embedded store: mongomock-motor dressed as PyMongo's async API, with change streams.

Application code is written against `pymongo.AsyncMongoClient` only. These facades close the gaps
between that API and the mock so the same code runs on both:

- every operation runs on mongomock's synchronous collection in one step, so it is atomic like
  one server operation, and (with `interleave`) lets other tasks run before and after it;
- `aggregate`, `list_indexes`, `watch` and `close` are coroutines, as in PyMongo's async API, and
  cursors are async (`cursor.py`);
- every write records a MongoDB-shaped change event in the deployment's `ChangeLog`, and
  `watch()` returns an `EmbeddedChangeStream` over it; `rename`, `drop_collection` and
  `drop_database` record `rename`, `drop` and `dropDatabase` as a server does;
- command responses carry `operationTime` and `$clusterTime`;
- `bulk_write` runs each request through these facades, which both records its change and avoids
  mongomock's `UpdateOne` bug with pymongo >= 4.11 (it passes `sort=` to the mock's builder).

What the mock still lacks (sessions, transactions, `$text`, collation, `$unionWith`, pipeline
`$lookup`, `$merge`, index use) is not papered over: production code must not need them here.
"""

from __future__ import annotations

import asyncio
import copy
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast

from bson.timestamp import Timestamp
from mongomock_motor import AsyncMongoMockClient
from pymongo import (
    DeleteMany,
    DeleteOne,
    InsertOne,
    ReplaceOne,
    ReturnDocument,
    UpdateMany,
    UpdateOne,
)
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure
from pymongo.monitoring import CommandListener
from pymongo.results import (
    BulkWriteResult,
    DeleteResult,
    InsertManyResult,
    InsertOneResult,
    UpdateResult,
)

from service_kit.mongo.embedded.change_stream import ChangeLog, EmbeddedChangeStream
from service_kit.mongo.embedded.cursor import EmbeddedCommandCursor, EmbeddedCursor
from service_kit.mongo.embedded.fast_path import install_id_fast_path
from service_kit.mongo.embedded.monitoring import (
    CLIENT_COMMANDS,
    COLLECTION_COMMANDS,
    DATABASE_COMMANDS,
    CommandEvents,
    monitored,
)
from service_kit.mongo.embedded.operations import (
    Operation,
    QueryShape,
    Sort,
    record,
    sort_of,
)

Document = dict[str, Any]
T = TypeVar("T")

# The server's error codes for what the facades check themselves.
ILLEGAL_OPERATION = 20
UNAUTHORIZED = 13
NAMESPACE_NOT_FOUND = 26
NAMESPACE_EXISTS = 48


@monitored(CLIENT_COMMANDS)
class EmbeddedClient:
    """One embedded deployment: a mongomock client and the change log of all its writes.

    With `interleave` (the default), every operation lets other tasks run before it starts and
    after it completes, where a server lets other clients' operations in, while the operation
    itself (with its change event and any `updateLookup` read) stays atomic, as one server
    operation is. Without it, nothing ever yields, which hides races in the code under test.
    """

    def __init__(
        self,
        *,
        change_history: int = 100_000,
        interleave: bool = True,
        id_fast_path: bool = True,
        event_listeners: Sequence[CommandListener] = (),
    ) -> None:
        self._mock: Any = AsyncMongoMockClient(tz_aware=True)
        # PyMongo's command monitoring, as AsyncMongoClient(event_listeners=...) (monitoring.py).
        self.commands = CommandEvents(event_listeners)
        self.change_log = ChangeLog(history=change_history)
        self.interleave = interleave
        # Off only to compare with mongomock's own scan (tests, benchmarks/embedded_store.py).
        self.id_fast_path = id_fast_path

    def get_database(self, name: str) -> EmbeddedDatabase:
        return EmbeddedDatabase(self, name, self._mock.get_database(name))

    def __getitem__(self, name: str) -> EmbeddedDatabase:
        return self.get_database(name)

    @property
    def admin(self) -> EmbeddedDatabase:
        return self.get_database("admin")

    async def drop_database(
        self,
        name_or_database: str | EmbeddedDatabase,
        session: Any = None,
        comment: Any = None,
    ) -> None:
        """Like `AsyncMongoClient.drop_database`: a `drop` event per collection, then
        `dropDatabase` (which invalidates the database's streams)."""
        _no_session(session)
        name = name_or_database if isinstance(name_or_database, str) else name_or_database.name
        await self.run(self.get_database(name)._drop_now)

    async def close(self) -> None:
        """Nothing to release; a coroutine because `AsyncMongoClient.close` is one."""

    def start_session(
        self, causal_consistency: bool | None = None, **options: Any
    ) -> EmbeddedSession:
        """Like `AsyncMongoClient.start_session` (no transactions: options are ignored)."""
        return EmbeddedSession(causal_consistency)

    async def pause(self) -> None:
        """Where a server would let other clients' operations run, let other tasks run."""
        if self.interleave:
            await asyncio.sleep(0)

    async def run(self, operation: Callable[[], T]) -> T:
        """Run one synchronous operation as one server operation: others may run before and
        after it, never during it."""
        await self.pause()
        result = operation()
        await self.pause()
        return result


class EmbeddedSession:
    """A causally consistent session, as far as this store needs one: it remembers the cluster
    time of its latest write (`operation_time`), like PyMongo's `AsyncClientSession`. The store
    runs one operation at a time, so reads in it always see its writes."""

    def __init__(self, causal_consistency: bool | None = None) -> None:
        self.causal_consistency = causal_consistency is not False
        self._operation_time: Timestamp | None = None
        self.has_ended = False

    @property
    def operation_time(self) -> Timestamp | None:
        return self._operation_time

    def advance_operation_time(self, operation_time: Timestamp) -> None:
        if self._operation_time is None or operation_time > self._operation_time:
            self._operation_time = operation_time

    async def end_session(self) -> None:
        self.has_ended = True

    async def __aenter__(self) -> EmbeddedSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.end_session()


@monitored(DATABASE_COMMANDS)
class EmbeddedDatabase:
    def __init__(self, client: EmbeddedClient, name: str, mock_database: Any) -> None:
        self.client = client
        self.name = name
        self._mock = mock_database
        self._sync: Any = mock_database.delegate

    def get_collection(self, name: str) -> EmbeddedCollection:
        return EmbeddedCollection(self, name, self._mock.get_collection(name))

    def __getitem__(self, name: str) -> EmbeddedCollection:
        return self.get_collection(name)

    async def command(self, command: str | Mapping[str, Any], **kwargs: Any) -> Document:
        """Runs `ping`, `renameCollection` (on `admin`) and what mongomock-motor runs. Every
        response carries `operationTime` and `$clusterTime`, as a replica set's do."""
        await self.client.pause()
        result = await self._command_now(command, **kwargs)
        await self.client.pause()
        return result

    async def list_collection_names(self, **kwargs: Any) -> list[str]:
        return await self.client.run(lambda: list(self._sync.list_collection_names(**kwargs)))

    async def drop_collection(
        self, name_or_collection: str | EmbeddedCollection, **kwargs: Any
    ) -> None:
        _no_session(kwargs.get("session"))
        name = (
            name_or_collection if isinstance(name_or_collection, str) else name_or_collection.name
        )
        await self.client.run(self.get_collection(name)._drop_now)

    async def watch(
        self, pipeline: list[Mapping[str, Any]] | None = None, **options: Any
    ) -> EmbeddedChangeStream:
        return await self.client.run(lambda: self._open_stream(None, pipeline, options))

    def _open_stream(
        self, coll: str | None, pipeline: list[Mapping[str, Any]] | None, options: dict[str, Any]
    ) -> EmbeddedChangeStream:
        unsupported = set(options) - {
            "full_document",
            "resume_after",
            "start_after",
            "start_at_operation_time",
            "max_await_time_ms",
            "batch_size",
        }
        if unsupported:
            raise NotImplementedError(
                f"embedded change streams do not support {sorted(unsupported)}"
            )
        return EmbeddedChangeStream(
            self.client.change_log,
            db=self.name,
            coll=coll,
            pipeline=pipeline,
            full_document=options.get("full_document"),
            resume_after=options.get("resume_after"),
            start_after=options.get("start_after"),
            start_at_operation_time=options.get("start_at_operation_time"),
            max_await_time_ms=options.get("max_await_time_ms"),
            batch_size=options.get("batch_size"),
            lookup=self._current_document,
            pause=self.client.pause,
        )

    def _current_document(self, coll: str, document_key: Document) -> Document | None:
        return self.get_collection(coll)._find_now(document_key["_id"])

    async def _command_now(self, command: str | Mapping[str, Any], **kwargs: Any) -> Document:
        spec: Mapping[str, Any] = (
            {command: kwargs.pop("value", 1)} if isinstance(command, str) else command
        )
        if next(iter(spec), "") == "renameCollection":
            result: Document = self._rename_command_now(spec)
        else:
            # mongomock-motor's command never yields, so this stays one atomic step.
            result = dict(await self._mock.command(spec, **kwargs))
        operation_time = self.client.change_log.last_time
        result["operationTime"] = operation_time
        result["$clusterTime"] = {
            "clusterTime": operation_time,
            "signature": {"hash": b"\x00" * 20, "keyId": 0},
        }
        return result

    def _rename_command_now(self, spec: Mapping[str, Any]) -> Document:
        if self.name != "admin":
            raise OperationFailure(
                "renameCollection may only be run against the admin database.", code=UNAUTHORIZED
            )
        source_db, _, source = str(spec["renameCollection"]).partition(".")
        target_db, _, target = str(spec.get("to", "")).partition(".")
        if source_db != target_db:
            raise NotImplementedError("the embedded store renames only within one database")
        database = self.client.get_database(source_db)
        return database._rename_now(source, target, drop_target=bool(spec.get("dropTarget")))

    def _rename_now(self, source: str, target: str, *, drop_target: bool) -> Document:
        """renameCollection within this database, with the server's checks and codes. The
        collection's documents and indexes move with it; one `rename` event records it."""
        if source == target:
            raise OperationFailure("Can't rename a collection to itself", code=ILLEGAL_OPERATION)
        if source not in self._sync.list_collection_names():
            raise OperationFailure(
                f"Source collection {self.name}.{source} does not exist", code=NAMESPACE_NOT_FOUND
            )
        if target in self._sync.list_collection_names() and not drop_target:
            raise OperationFailure("target namespace exists", code=NAMESPACE_EXISTS)
        self._sync.rename_collection(source, target, dropTarget=drop_target)
        self.client.change_log.append(
            "rename", self.name, source, to={"db": self.name, "coll": target}
        )
        return {"ok": 1.0}

    def _drop_now(self) -> None:
        names = list(self._sync.list_collection_names())
        for name in names:
            self.get_collection(name)._drop_now()
        if names:
            self.client.change_log.append("dropDatabase", self.name)


@monitored(COLLECTION_COMMANDS, find=True)
class EmbeddedCollection:
    def __init__(self, database: EmbeddedDatabase, name: str, mock_collection: Any) -> None:
        self.database = database
        self.name = name
        self._mock = mock_collection
        self._sync: Any = _synchronous(mock_collection)
        if database.client.id_fast_path:
            install_id_fast_path(self._sync)
        self._client = database.client

    # ---- reads: one atomic step each, with PyMongo's async signatures ---------------------------

    def find(self, *args: Any, **kwargs: Any) -> EmbeddedCursor:
        filter = (args[0] if args else kwargs.get("filter")) or {}
        return EmbeddedCursor(
            self._client.pause,
            self._sync.find(*args, **kwargs),
            on_fetch=lambda sort: self._operation("find", filter, sort),
        )

    async def find_one(self, *args: Any, **kwargs: Any) -> Document | None:
        _session_of(kwargs)  # one operation at a time: every read sees every earlier write
        filter = (args[0] if args else kwargs.get("filter")) or {}
        self._operation("find_one", filter, sort_of(kwargs.get("sort")))
        found: Document | None = await self._client.run(
            lambda: self._sync.find_one(*args, **kwargs)
        )
        return found

    async def estimated_document_count(self, **kwargs: Any) -> int:
        self._operation("count")  # collection metadata on a server: no filter, no scan
        count: int = await self._client.run(lambda: self._sync.estimated_document_count())
        return count

    async def count_documents(self, filter: Mapping[str, Any], **kwargs: Any) -> int:
        _session_of(kwargs)
        self._operation("count", filter)
        count: int = await self._client.run(lambda: self._sync.count_documents(filter, **kwargs))
        return count

    async def distinct(self, key: str, filter: Mapping[str, Any] | None = None) -> list[Any]:
        return await self._client.run(lambda: list(self._sync.distinct(key, filter)))

    async def aggregate(
        self, pipeline: Sequence[Mapping[str, Any]], **kwargs: Any
    ) -> EmbeddedCommandCursor:
        # A leading `$match` is the query the server runs through an index: its shape is logged.
        first = pipeline[0] if pipeline else {}
        self._operation("aggregate", first.get("$match"))
        results = await self._client.run(
            lambda: list(self._sync.aggregate(list(pipeline), **kwargs))
        )
        return EmbeddedCommandCursor(self._client.pause, results)

    async def create_index(self, keys: Any, **kwargs: Any) -> str:
        name: str = await self._client.run(lambda: self._sync.create_index(keys, **kwargs))
        return name

    async def create_indexes(self, indexes: Sequence[Any], **kwargs: Any) -> list[str]:
        return await self._client.run(
            lambda: [
                self._sync.create_index(index.document["key"].items(), **_index_options(index))
                for index in indexes
            ]
        )

    async def list_indexes(self, **kwargs: Any) -> EmbeddedCommandCursor:
        results = await self._client.run(lambda: list(self._sync.list_indexes()))
        return EmbeddedCommandCursor(self._client.pause, results)

    async def watch(
        self, pipeline: list[Mapping[str, Any]] | None = None, **options: Any
    ) -> EmbeddedChangeStream:
        return await self._client.run(
            lambda: self.database._open_stream(self.name, pipeline, options)
        )

    # ---- writes: one atomic step each, recording its change events ------------------------------

    async def insert_one(self, document: Document, **kwargs: Any) -> InsertOneResult:
        self._operation("insert")
        return await self._write(kwargs, lambda options: self._insert_one_now(document, **options))

    async def insert_many(
        self, documents: Iterable[Document], ordered: bool = True, **kwargs: Any
    ) -> InsertManyResult:
        inserted_ids = []
        errors: list[Document] = []
        self._operation("insert_many")
        for index, document in enumerate(documents):
            try:
                # Each document is its own step: a bulk insert is not atomic on a server either.
                result = await self._client.run(functools.partial(self._insert_one_now, document))
                inserted_ids.append(result.inserted_id)
            except DuplicateKeyError as error:
                errors.append({"index": index, "code": 11000, "errmsg": str(error), "op": document})
                if ordered:
                    break
        if errors:
            raise BulkWriteError(_bulk_result(n_inserted=len(inserted_ids), write_errors=errors))
        return InsertManyResult(inserted_ids, acknowledged=True)

    async def update_one(
        self, filter: Mapping[str, Any], update: Any, upsert: bool = False, **kwargs: Any
    ) -> UpdateResult:
        self._operation("update", filter)
        return await self._write(
            kwargs, lambda options: self._update_one_now(filter, update, upsert=upsert, **options)
        )

    async def update_many(
        self, filter: Mapping[str, Any], update: Any, upsert: bool = False, **kwargs: Any
    ) -> UpdateResult:
        self._operation("update", filter)
        return await self._write(
            kwargs, lambda options: self._update_many_now(filter, update, upsert=upsert, **options)
        )

    async def replace_one(
        self, filter: Mapping[str, Any], replacement: Document, upsert: bool = False, **kwargs: Any
    ) -> UpdateResult:
        self._operation("update", filter)
        return await self._write(
            kwargs,
            lambda options: self._replace_one_now(filter, replacement, upsert=upsert, **options),
        )

    async def delete_one(self, filter: Mapping[str, Any], **kwargs: Any) -> DeleteResult:
        self._operation("delete", filter)
        return await self._write(
            kwargs, lambda options: self._delete_now(filter, many=False, **options)
        )

    async def delete_many(self, filter: Mapping[str, Any], **kwargs: Any) -> DeleteResult:
        self._operation("delete", filter)
        return await self._write(
            kwargs, lambda options: self._delete_now(filter, many=True, **options)
        )

    async def find_one_and_update(
        self,
        filter: Mapping[str, Any],
        update: Any,
        *,
        upsert: bool = False,
        return_document: bool = ReturnDocument.BEFORE,
        **kwargs: Any,
    ) -> Document | None:
        self._operation("find_and_modify", filter, sort_of(kwargs.get("sort")))
        return await self._write(
            kwargs,
            lambda options: self._find_one_and_update_now(
                filter, update, upsert=upsert, return_document=return_document, **options
            ),
        )

    async def find_one_and_delete(
        self, filter: Mapping[str, Any], **kwargs: Any
    ) -> Document | None:
        self._operation("find_and_modify", filter, sort_of(kwargs.get("sort")))
        return await self._write(
            kwargs, lambda options: self._find_one_and_delete_now(filter, **options)
        )

    async def bulk_write(
        self, requests: Sequence[Any], ordered: bool = True, **kwargs: Any
    ) -> BulkWriteResult:
        counts = {"n_inserted": 0, "n_matched": 0, "n_modified": 0, "n_removed": 0}
        upserted: list[Document] = []
        errors: list[Document] = []
        # One round trip (PyMongo splits only past 100,000 requests or 48 MB) with many shapes.
        self._record_operation(
            "bulk_write",
            tuple(
                QueryShape(request._filter)
                for request in requests
                if getattr(request, "_filter", None) is not None
            ),
        )
        for index, request in enumerate(requests):
            try:
                # Each request is its own step: a bulk write is not atomic on a server either.
                await self._client.run(
                    functools.partial(self._apply_request_now, request, index, counts, upserted)
                )
            except DuplicateKeyError as error:
                errors.append(
                    {"index": index, "code": 11000, "errmsg": str(error), "op": repr(request)}
                )
                if ordered:
                    break
        result = _bulk_result(upserted=upserted, write_errors=errors, **counts)
        if errors:
            raise BulkWriteError(result)
        return BulkWriteResult(result, acknowledged=True)

    async def drop(self, **kwargs: Any) -> None:
        _no_session(kwargs.get("session"))
        await self._client.run(self._drop_now)

    async def rename(
        self, new_name: str, session: Any = None, comment: Any = None, **kwargs: Any
    ) -> Document:
        """Like `AsyncCollection.rename`: `dropTarget=True` replaces an existing target, which
        otherwise fails with code 48 NamespaceExists. Streams on either name are invalidated."""
        _no_session(session)
        drop_target = bool(kwargs.get("dropTarget", False))
        return await self._client.run(
            lambda: self.database._rename_now(self.name, new_name, drop_target=drop_target)
        )

    async def _write(self, kwargs: dict[str, Any], step: Callable[[dict[str, Any]], T]) -> T:
        """Run a write as one step; a session passed in learns the write's cluster time."""
        session = _session_of(kwargs)
        log = self._client.change_log
        result, time = await self._client.run(lambda: (step(kwargs), log.last_time))
        if session is not None:
            session.advance_operation_time(time)
        return result

    # ---- the operation log (round trips and query shapes, for tests) ----------------------------

    def _operation(self, kind: str, filter: Any = None, sort: Sort = ()) -> None:
        shapes = (QueryShape(filter or {}, sort),) if filter is not None or sort else ()
        self._record_operation(kind, shapes)

    def _record_operation(self, kind: str, shapes: tuple[QueryShape, ...]) -> None:
        record(Operation(self.database.name, self.name, kind, shapes))

    # ---- the synchronous steps ------------------------------------------------------------------

    def _insert_one_now(self, document: Document, **kwargs: Any) -> InsertOneResult:
        result: InsertOneResult = self._sync.insert_one(document, **kwargs)
        # insert_one sets `_id` in the caller's document, as PyMongo does.
        self._record("insert", result.inserted_id, fullDocument=document)
        return result

    def _update_one_now(
        self, filter: Mapping[str, Any], update: Any, *, upsert: bool, **kwargs: Any
    ) -> UpdateResult:
        before = self._sync.find_one(filter, **_sort_only(kwargs))
        result: UpdateResult = self._sync.update_one(filter, update, upsert=upsert, **kwargs)
        self._record_update(before, result)
        return result

    def _update_many_now(
        self, filter: Mapping[str, Any], update: Any, *, upsert: bool, **kwargs: Any
    ) -> UpdateResult:
        befores = list(self._sync.find(filter))
        result: UpdateResult = self._sync.update_many(filter, update, upsert=upsert, **kwargs)
        for before in befores:
            self._record_update(before, None)
        if result.upserted_id is not None:
            self._record_update(None, result)
        return result

    def _replace_one_now(
        self, filter: Mapping[str, Any], replacement: Document, *, upsert: bool, **kwargs: Any
    ) -> UpdateResult:
        before = self._sync.find_one(filter)
        result: UpdateResult = self._sync.replace_one(filter, replacement, upsert=upsert, **kwargs)
        if result.upserted_id is not None:
            self._record_update(None, result)
        elif before is not None:
            after = self._find_now(before["_id"])
            if after != before:
                self._record("replace", before["_id"], fullDocument=after)
        return result

    def _delete_now(self, filter: Mapping[str, Any], *, many: bool, **kwargs: Any) -> DeleteResult:
        found = self._sync.find(filter, {"_id": 1})
        ids = [document["_id"] for document in (found if many else found.limit(1))]
        for document_id in ids:
            self._sync.delete_one({"_id": document_id}, **kwargs)
            self._record("delete", document_id)
        return DeleteResult({"n": len(ids), "ok": 1.0}, acknowledged=True)

    def _find_one_and_update_now(
        self,
        filter: Mapping[str, Any],
        update: Any,
        *,
        upsert: bool,
        return_document: bool,
        **kwargs: Any,
    ) -> Document | None:
        before = self._sync.find_one(filter, **_sort_only(kwargs))
        after = self._sync.find_one_and_update(
            filter, update, upsert=upsert, return_document=ReturnDocument.AFTER, **kwargs
        )
        if before is None and after is not None:
            self._record("insert", after["_id"], fullDocument=after)
        elif before is not None and after != before:
            self._record(
                "update", before["_id"], updateDescription=_update_description(before, after)
            )
        return after if return_document == ReturnDocument.AFTER else before

    def _find_one_and_delete_now(self, filter: Mapping[str, Any], **kwargs: Any) -> Document | None:
        deleted: Document | None = self._sync.find_one_and_delete(filter, **kwargs)
        if deleted is not None:
            self._record("delete", deleted["_id"])
        return deleted

    def _drop_now(self) -> None:
        """A drop of a collection that does not exist changes nothing and records nothing."""
        if self.name not in self.database._sync.list_collection_names():
            return
        self._sync.drop()
        self._client.change_log.append("drop", self.database.name, self.name)

    def _apply_request_now(
        self, request: Any, index: int, counts: dict[str, int], upserted: list[Document]
    ) -> None:
        # pymongo's request classes keep their arguments in these attributes.
        if isinstance(request, InsertOne):
            self._insert_one_now(request._doc)
            counts["n_inserted"] += 1
            return
        if isinstance(request, UpdateOne | UpdateMany | ReplaceOne):
            upsert = bool(request._upsert)
            if isinstance(request, ReplaceOne):
                replacement = cast(Document, request._doc)
                result = self._replace_one_now(request._filter, replacement, upsert=upsert)
            elif isinstance(request, UpdateOne):
                result = self._update_one_now(request._filter, request._doc, upsert=upsert)
            else:
                result = self._update_many_now(request._filter, request._doc, upsert=upsert)
            if result.upserted_id is not None:
                upserted.append({"index": index, "_id": result.upserted_id})
            else:
                counts["n_matched"] += result.matched_count
                counts["n_modified"] += result.modified_count
            return
        if isinstance(request, DeleteOne | DeleteMany):
            deleted = self._delete_now(request._filter, many=isinstance(request, DeleteMany))
            counts["n_removed"] += deleted.deleted_count
            return
        raise TypeError(f"{type(request).__name__} is not a bulk write request")

    def _record(self, operation: str, document_id: Any, **extra: Any) -> None:
        self._client.change_log.append(
            operation, self.database.name, self.name, {"_id": document_id}, **extra
        )

    def _record_update(self, before: Document | None, result: UpdateResult | None) -> None:
        if result is not None and result.upserted_id is not None:
            inserted = self._find_now(result.upserted_id)
            self._record("insert", result.upserted_id, fullDocument=inserted)
            return
        if before is None:
            return
        after = self._find_now(before["_id"])
        if after is not None and after != before:  # an update that changes nothing has no event
            self._record(
                "update", before["_id"], updateDescription=_update_description(before, after)
            )

    def _find_now(self, document_id: Any) -> Document | None:
        """A synchronous read, so that no other task can write between a change and its record
        (or, for `updateLookup`, while the event is being returned)."""
        found: Document | None = self._sync.find_one({"_id": document_id})
        return found


def _synchronous(mock_collection: Any) -> Any:
    """mongomock-motor keeps the synchronous (and patched) collection in a private attribute; the
    facades run every operation on it directly, so that nothing can yield inside one."""
    return mock_collection._AsyncMongoMockCollection__collection


def _no_session(session: Any) -> None:
    if session is not None:
        raise NotImplementedError("the embedded store supports sessions only for reads and writes")


def _session_of(kwargs: dict[str, Any]) -> EmbeddedSession | None:
    """Take the `session` option out of an operation's arguments (the mock has no sessions)."""
    session = kwargs.pop("session", None)
    if session is not None and not isinstance(session, EmbeddedSession):
        raise TypeError(f"not a session of the embedded store: {session!r}")
    return session


def _update_description(before: Document, after: Document) -> Document:
    """Top-level fields only: consumers must not depend on its granularity (see the notes)."""
    updated = {
        key: copy.deepcopy(value)
        for key, value in after.items()
        if before.get(key, _MISSING) != value
    }
    removed = [key for key in before if key not in after]
    return {"updatedFields": updated, "removedFields": removed, "truncatedArrays": []}


_MISSING = object()


def _sort_only(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {"sort": kwargs["sort"]} if "sort" in kwargs else {}


def _index_options(index: Any) -> dict[str, Any]:
    return {key: value for key, value in index.document.items() if key != "key"}


def _bulk_result(
    *,
    n_inserted: int = 0,
    n_matched: int = 0,
    n_modified: int = 0,
    n_removed: int = 0,
    upserted: list[Document] | None = None,
    write_errors: list[Document] | None = None,
) -> Document:
    upserted = upserted or []
    return {
        "writeErrors": write_errors or [],
        "writeConcernErrors": [],
        "nInserted": n_inserted,
        "nUpserted": len(upserted),
        "nMatched": n_matched,
        "nModified": n_modified,
        "nRemoved": n_removed,
        "upserted": upserted,
    }
