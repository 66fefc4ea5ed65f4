"""The embedded store: mongomock-motor dressed as PyMongo's async API, with change streams.

Application code is written against `pymongo.AsyncMongoClient` only. These facades close the gaps
between that API and the mock so the same code runs on both:

- `aggregate`, `list_indexes`, `watch` and `close` are coroutines, as in PyMongo's async API;
- every write records a MongoDB-shaped change event in the deployment's `ChangeLog`, and
  `watch()` returns an `EmbeddedChangeStream` over it;
- `bulk_write` runs each request through these facades, which both records its change and avoids
  mongomock's `UpdateOne` bug with pymongo >= 4.11 (it passes `sort=` to the mock's builder).

What the mock still lacks (sessions, transactions, `$text`, collation, `$unionWith`, pipeline
`$lookup`, `$merge`, index use) is not papered over: production code must not need them here.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

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
from pymongo.errors import BulkWriteError, DuplicateKeyError
from pymongo.results import (
    BulkWriteResult,
    DeleteResult,
    InsertManyResult,
    InsertOneResult,
    UpdateResult,
)

from service_kit.mongo.embedded.change_stream import ChangeLog, EmbeddedChangeStream

Document = dict[str, Any]


class EmbeddedClient:
    """One embedded deployment: a mongomock client and the change log of all its writes."""

    def __init__(self, *, change_history: int = 100_000) -> None:
        self._mock: Any = AsyncMongoMockClient(tz_aware=True)
        self.change_log = ChangeLog(history=change_history)

    def get_database(self, name: str) -> EmbeddedDatabase:
        return EmbeddedDatabase(self, name, self._mock.get_database(name))

    def __getitem__(self, name: str) -> EmbeddedDatabase:
        return self.get_database(name)

    @property
    def admin(self) -> EmbeddedDatabase:
        return self.get_database("admin")

    async def close(self) -> None:
        """Nothing to release; a coroutine because `AsyncMongoClient.close` is one."""


class EmbeddedDatabase:
    def __init__(self, client: EmbeddedClient, name: str, mock_database: Any) -> None:
        self.client = client
        self.name = name
        self._mock = mock_database

    def get_collection(self, name: str) -> EmbeddedCollection:
        return EmbeddedCollection(self, name, self._mock.get_collection(name))

    def __getitem__(self, name: str) -> EmbeddedCollection:
        return self.get_collection(name)

    async def command(self, command: str | Mapping[str, Any], **kwargs: Any) -> Document:
        result: Document = await self._mock.command(command, **kwargs)
        return result

    async def list_collection_names(self) -> list[str]:
        names: list[str] = await self._mock.list_collection_names()
        return names

    async def drop_collection(self, name: str) -> None:
        await self.get_collection(name).drop()

    async def watch(
        self, pipeline: list[Mapping[str, Any]] | None = None, **options: Any
    ) -> EmbeddedChangeStream:
        return self._open_stream(None, pipeline, options)

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
        )

    def _current_document(self, coll: str, document_key: Document) -> Document | None:
        return _find_by_id_now(self._mock.get_collection(coll), document_key["_id"])


class EmbeddedCollection:
    def __init__(self, database: EmbeddedDatabase, name: str, mock_collection: Any) -> None:
        self.database = database
        self.name = name
        self._mock = mock_collection

    # ---- reads: passed through, with PyMongo's async signatures -------------------------------

    def find(self, *args: Any, **kwargs: Any) -> Any:
        return self._mock.find(*args, **kwargs)

    async def find_one(self, *args: Any, **kwargs: Any) -> Document | None:
        found: Document | None = await self._mock.find_one(*args, **kwargs)
        return found

    async def count_documents(self, filter: Mapping[str, Any], **kwargs: Any) -> int:
        count: int = await self._mock.count_documents(filter, **kwargs)
        return count

    async def distinct(self, key: str, filter: Mapping[str, Any] | None = None) -> list[Any]:
        values: list[Any] = await self._mock.distinct(key, filter)
        return values

    async def aggregate(self, pipeline: Sequence[Mapping[str, Any]], **kwargs: Any) -> Any:
        return self._mock.aggregate(list(pipeline), **kwargs)

    async def create_index(self, keys: Any, **kwargs: Any) -> str:
        name: str = await self._mock.create_index(keys, **kwargs)
        return name

    async def create_indexes(self, indexes: Sequence[Any]) -> list[str]:
        return [
            await self._mock.create_index(index.document["key"].items(), **_index_options(index))
            for index in indexes
        ]

    async def list_indexes(self) -> Any:
        return self._mock.list_indexes()

    async def watch(
        self, pipeline: list[Mapping[str, Any]] | None = None, **options: Any
    ) -> EmbeddedChangeStream:
        return self.database._open_stream(self.name, pipeline, options)

    # ---- writes: each one records its change events --------------------------------------------

    async def insert_one(self, document: Document, **kwargs: Any) -> InsertOneResult:
        result: InsertOneResult = await self._mock.insert_one(document, **kwargs)
        self._record("insert", result.inserted_id, fullDocument=document)
        return result

    async def insert_many(
        self, documents: Iterable[Document], ordered: bool = True, **kwargs: Any
    ) -> InsertManyResult:
        inserted_ids = []
        errors: list[Document] = []
        for index, document in enumerate(documents):
            try:
                inserted_ids.append((await self.insert_one(document)).inserted_id)
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
        before = await self._mock.find_one(filter)
        result: UpdateResult = await self._mock.update_one(filter, update, upsert=upsert, **kwargs)
        self._record_update(before, result)
        return result

    async def update_many(
        self, filter: Mapping[str, Any], update: Any, upsert: bool = False, **kwargs: Any
    ) -> UpdateResult:
        befores = await self._mock.find(filter).to_list(None)
        result: UpdateResult = await self._mock.update_many(filter, update, upsert=upsert, **kwargs)
        for before in befores:
            self._record_update(before, None)
        if result.upserted_id is not None:
            self._record_update(None, result)
        return result

    async def replace_one(
        self, filter: Mapping[str, Any], replacement: Document, upsert: bool = False, **kwargs: Any
    ) -> UpdateResult:
        before = await self._mock.find_one(filter)
        result: UpdateResult = await self._mock.replace_one(
            filter, replacement, upsert=upsert, **kwargs
        )
        if result.upserted_id is not None:
            self._record_update(None, result)
        elif before is not None:
            after = await self._mock.find_one({"_id": before["_id"]})
            if after != before:
                self._record("replace", before["_id"], fullDocument=after)
        return result

    async def delete_one(self, filter: Mapping[str, Any], **kwargs: Any) -> DeleteResult:
        before = await self._mock.find_one(filter)
        if before is None:
            return DeleteResult({"n": 0}, acknowledged=True)
        result: DeleteResult = await self._mock.delete_one({"_id": before["_id"]}, **kwargs)
        self._record("delete", before["_id"])
        return result

    async def delete_many(self, filter: Mapping[str, Any], **kwargs: Any) -> DeleteResult:
        befores = await self._mock.find(filter, {"_id": 1}).to_list(None)
        result: DeleteResult = await self._mock.delete_many(filter, **kwargs)
        for before in befores:
            self._record("delete", before["_id"])
        return result

    async def find_one_and_update(
        self,
        filter: Mapping[str, Any],
        update: Any,
        *,
        upsert: bool = False,
        return_document: bool = ReturnDocument.BEFORE,
        **kwargs: Any,
    ) -> Document | None:
        before = await self._mock.find_one(filter, **_sort_only(kwargs))
        after = await self._mock.find_one_and_update(
            filter, update, upsert=upsert, return_document=ReturnDocument.AFTER, **kwargs
        )
        if before is None and after is not None:
            self._record("insert", after["_id"], fullDocument=after)
        elif before is not None and after != before:
            self._record(
                "update", before["_id"], updateDescription=_update_description(before, after)
            )
        return after if return_document == ReturnDocument.AFTER else before

    async def find_one_and_delete(
        self, filter: Mapping[str, Any], **kwargs: Any
    ) -> Document | None:
        deleted: Document | None = await self._mock.find_one_and_delete(filter, **kwargs)
        if deleted is not None:
            self._record("delete", deleted["_id"])
        return deleted

    async def bulk_write(
        self, requests: Sequence[Any], ordered: bool = True, **kwargs: Any
    ) -> BulkWriteResult:
        counts = {"n_inserted": 0, "n_matched": 0, "n_modified": 0, "n_removed": 0}
        upserted: list[Document] = []
        errors: list[Document] = []
        for index, request in enumerate(requests):
            try:
                await self._apply_request(request, index, counts, upserted)
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

    async def drop(self) -> None:
        await self._mock.drop()
        self.database.client.change_log.append("drop", self.database.name, self.name, {})

    # ---- helpers --------------------------------------------------------------------------------

    async def _apply_request(
        self, request: Any, index: int, counts: dict[str, int], upserted: list[Document]
    ) -> None:
        # pymongo's request classes keep their arguments in these attributes.
        if isinstance(request, InsertOne):
            await self.insert_one(request._doc)
            counts["n_inserted"] += 1
            return
        if isinstance(request, UpdateOne | UpdateMany | ReplaceOne):
            if isinstance(request, ReplaceOne):
                replacement = cast(Document, request._doc)
                result = await self.replace_one(
                    request._filter, replacement, upsert=bool(request._upsert)
                )
            elif isinstance(request, UpdateOne):
                result = await self.update_one(
                    request._filter, request._doc, upsert=bool(request._upsert)
                )
            else:
                result = await self.update_many(
                    request._filter, request._doc, upsert=bool(request._upsert)
                )
            if result.upserted_id is not None:
                upserted.append({"index": index, "_id": result.upserted_id})
            else:
                counts["n_matched"] += result.matched_count
                counts["n_modified"] += result.modified_count
            return
        if isinstance(request, DeleteOne | DeleteMany):
            deleter = self.delete_one if isinstance(request, DeleteOne) else self.delete_many
            counts["n_removed"] += (await deleter(request._filter)).deleted_count
            return
        raise TypeError(f"{type(request).__name__} is not a bulk write request")

    def _record(self, operation: str, document_id: Any, **extra: Any) -> None:
        self.database.client.change_log.append(
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
        return _find_by_id_now(self._mock, document_id)


def _find_by_id_now(mock_collection: Any, document_id: Any) -> Document | None:
    """A synchronous read, so that no other coroutine can write between a change and its record
    (or, for `updateLookup`, while the event is being returned). mongomock-motor keeps the
    synchronous collection in a private attribute; this is the one place that reaches it."""
    synchronous = mock_collection._AsyncMongoMockCollection__collection
    found: Document | None = synchronous.find_one({"_id": document_id})
    return found


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
