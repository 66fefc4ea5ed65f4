"""The embedded store's own guarantees: interleaving like a server, atomic operations, cursors,
renames and drops."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import mongomock.collection as mongomock_collection
import pytest
from bson import Decimal128, Int64, ObjectId
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from pymongo import IndexModel, InsertOne
from pymongo.errors import InvalidOperation, OperationFailure

from service_kit.mongo.connection import connect_embedded
from service_kit.mongo.embedded import EmbeddedClient, EmbeddedDatabase, fast_path
from tests.support import make_settings


def database_of(interleave: bool = True) -> EmbeddedDatabase:
    return EmbeddedClient(interleave=interleave).get_database("test")


async def naive_increment(database: EmbeddedDatabase) -> None:
    """A read and a write that depends on it: the textbook lost update."""
    counter = await database["counters"].find_one({"_id": "c"})
    assert counter is not None
    await database["counters"].update_one({"_id": "c"}, {"$set": {"n": counter["n"] + 1}})


@pytest.mark.parametrize(("interleave", "expected"), [(True, 1), (False, 2)])
async def test_interleaving_makes_a_lost_update_visible(interleave, expected):
    database = database_of(interleave)
    await database["counters"].insert_one({"_id": "c", "n": 0})

    await asyncio.gather(naive_increment(database), naive_increment(database))

    assert (await database["counters"].find_one({"_id": "c"}))["n"] == expected


async def test_each_operation_is_still_atomic():
    database = database_of(interleave=True)
    await database["counters"].insert_one({"_id": "c", "n": 0})

    await asyncio.gather(
        *(database["counters"].update_one({"_id": "c"}, {"$inc": {"n": 1}}) for _ in range(50))
    )

    assert (await database["counters"].find_one({"_id": "c"}))["n"] == 50


async def test_interleave_is_on_by_default_and_follows_the_setting():
    assert connect_embedded(make_settings()).client.interleave  # type: ignore[attr-defined]
    assert not connect_embedded(make_settings(embedded_interleave=False)).client.interleave  # type: ignore[attr-defined]


Operation = Callable[[EmbeddedDatabase], Awaitable[Any]]


async def _stream_next(database: EmbeddedDatabase) -> Any:
    stream = await database.watch(max_await_time_ms=10)
    await database["things"].insert_one({"_id": "new"})
    return await stream.try_next()


async def _cursor_next(database: EmbeddedDatabase) -> Any:
    return await anext(aiter(database["things"].find()))


OPERATIONS: dict[str, Operation] = {
    "command": lambda db: db.command("ping"),
    "list_collection_names": lambda db: db.list_collection_names(),
    "find().to_list": lambda db: db["things"].find().to_list(None),
    "find() async for": _cursor_next,
    "find_one": lambda db: db["things"].find_one({"_id": 1}),
    "count_documents": lambda db: db["things"].count_documents({}),
    "distinct": lambda db: db["things"].distinct("v"),
    "aggregate": lambda db: db["things"].aggregate([{"$match": {}}]),
    "insert_one": lambda db: db["things"].insert_one({"_id": 3}),
    "insert_many": lambda db: db["things"].insert_many([{"_id": 3}]),
    "update_one": lambda db: db["things"].update_one({"_id": 1}, {"$set": {"v": 9}}),
    "update_many": lambda db: db["things"].update_many({}, {"$set": {"v": 9}}),
    "replace_one": lambda db: db["things"].replace_one({"_id": 1}, {"v": 9}),
    "delete_one": lambda db: db["things"].delete_one({"_id": 1}),
    "delete_many": lambda db: db["things"].delete_many({}),
    "find_one_and_update": lambda db: db["things"].find_one_and_update(
        {"_id": 1}, {"$inc": {"v": 1}}
    ),
    "find_one_and_delete": lambda db: db["things"].find_one_and_delete({"_id": 1}),
    "bulk_write": lambda db: db["things"].bulk_write([InsertOne({"_id": 3})]),
    "create_indexes": lambda db: db["things"].create_indexes([IndexModel("v")]),
    "list_indexes": lambda db: db["things"].list_indexes(),
    "watch": lambda db: db.watch(),
    "collection watch": lambda db: db["things"].watch(),
    "change stream try_next": _stream_next,
    "drop": lambda db: db["things"].drop(),
    "rename": lambda db: db["things"].rename("renamed"),
    "drop_database": lambda db: db.client.drop_database(db.name),
}


@pytest.mark.parametrize("interleave", [True, False])
@pytest.mark.parametrize("name", OPERATIONS)
async def test_every_operation_lets_other_tasks_run_only_when_interleaving(name, interleave):
    database = database_of(interleave)
    database.client.interleave = False  # set up without yielding
    await database["things"].insert_many([{"_id": 1, "v": 1}, {"_id": 2, "v": 2}])
    database.client.interleave = interleave
    ran: list[str] = []

    async def other_client() -> None:
        ran.append("other")

    other = asyncio.create_task(other_client())
    await OPERATIONS[name](database)

    assert ran == (["other"] if interleave else [])
    await other


async def test_bulk_writes_let_others_see_each_request_applied_in_turn(monkeypatch):
    client = EmbeddedClient(interleave=True)
    things = client.get_database("test")["things"]
    seen: list[int] = []

    async def recording_pause() -> None:
        seen.append(things._sync.count_documents({}))
        await asyncio.sleep(0)

    monkeypatch.setattr(client, "pause", recording_pause)
    await things.bulk_write([InsertOne({"_id": n}) for n in range(3)])
    await things.insert_many([{"_id": n} for n in range(3, 6)])

    assert {1, 2, 4, 5} <= set(seen)  # states between requests, where others may run


async def test_the_find_cursor_sorts_skips_limits_and_iterates():
    things = database_of()["things"]
    await things.insert_many([{"_id": n, "v": n % 3} for n in range(10)])

    page = (
        await things.find({"v": {"$gt": 0}})
        .sort([("v", -1), ("_id", 1)])
        .skip(1)
        .limit(3)
        .to_list(None)
    )
    assert [d["_id"] for d in page] == [5, 8, 1]

    cursor = things.find({}, {"v": 0}).sort("_id", -1).max_time_ms(1000).batch_size(2).comment("c")
    assert [d async for d in cursor] == [{"_id": n} for n in range(9, -1, -1)]

    cursor = things.find().sort("_id", 1)
    assert [d["_id"] for d in await cursor.to_list(4)] == [0, 1, 2, 3]
    assert [d["_id"] for d in await cursor.to_list(4)] == [4, 5, 6, 7]
    assert [d["_id"] for d in await cursor.to_list(None)] == [8, 9]
    with pytest.raises(InvalidOperation):
        cursor.limit(1)


async def test_the_find_cursor_runs_its_query_at_the_first_fetch():
    things = database_of()["things"]
    cursor = things.find()
    await things.insert_one({"_id": 1})

    assert await cursor.to_list(None) == [{"_id": 1}]


async def test_aggregate_and_list_indexes_return_async_cursors():
    things = database_of()["things"]
    await things.insert_many([{"_id": n, "v": n % 2} for n in range(4)])
    await things.create_indexes([IndexModel([("v", 1)], name="by_v")])

    groups = await (await things.aggregate([{"$group": {"_id": "$v", "n": {"$sum": 1}}}])).to_list(
        None
    )
    assert sorted((g["_id"], g["n"]) for g in groups) == [(0, 2), (1, 2)]
    assert [i["name"] async for i in await things.list_indexes()] == ["_id_", "by_v"]


async def test_rename_moves_documents_and_indexes():
    database = database_of()
    await database["old"].insert_one({"_id": 1})
    await database["old"].create_indexes([IndexModel([("v", 1)], name="by_v", unique=True)])

    assert (await database["old"].rename("new"))["ok"] == 1

    assert await database["new"].find().to_list(None) == [{"_id": 1}]
    assert [i["name"] async for i in await database["new"].list_indexes()] == ["_id_", "by_v"]
    assert "old" not in await database.list_collection_names()


async def test_rename_onto_an_existing_collection_needs_drop_target():
    database = database_of()
    await database["fresh"].insert_one({"_id": "fresh"})
    await database["live"].insert_one({"_id": "stale"})

    with pytest.raises(OperationFailure) as exists:
        await database["fresh"].rename("live")
    assert exists.value.code == 48  # NamespaceExists
    assert await database["live"].find().to_list(None) == [{"_id": "stale"}]

    await database["fresh"].rename("live", dropTarget=True)
    assert await database["live"].find().to_list(None) == [{"_id": "fresh"}]


async def test_rename_fails_like_the_server_for_a_missing_source_or_itself():
    database = database_of()
    await database["things"].insert_one({"_id": 1})

    with pytest.raises(OperationFailure) as missing:
        await database["nothing"].rename("elsewhere")
    assert missing.value.code == 26  # NamespaceNotFound
    with pytest.raises(OperationFailure) as itself:
        await database["things"].rename("things", dropTarget=True)
    assert itself.value.code == 20  # IllegalOperation


async def test_rename_collection_runs_as_an_admin_command():
    client = EmbeddedClient()
    await client.get_database("test")["fresh"].insert_one({"_id": 1})
    await client.get_database("test")["live"].insert_one({"_id": 2})

    command = {"renameCollection": "test.fresh", "to": "test.live", "dropTarget": True}
    with pytest.raises(OperationFailure) as not_admin:
        await client.get_database("test").command(command)
    assert not_admin.value.code == 13
    await client.admin.command(command)

    assert await client.get_database("test")["live"].find().to_list(None) == [{"_id": 1}]


async def test_drop_database_and_drop_collection_remove_the_data():
    client = EmbeddedClient()
    database = client.get_database("test")
    await database["a"].insert_one({"_id": 1})
    await database["b"].insert_one({"_id": 1})

    await database.drop_collection("a")
    assert await database.list_collection_names() == ["b"]
    await client.drop_database(database)
    assert await database.list_collection_names() == []


# ---- the fast paths (`_id`, one equality): the same documents as mongomock's scan ---------------

OBJECT_IDS = [ObjectId("650000000000000000000001"), ObjectId("650000000000000000000002")]
ids = st.one_of(
    st.integers(-2, 2),
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from(OBJECT_IDS),
    st.sampled_from([1.0, 2.5, None]),
)
# What a filter may compare `_id` with: stored ids, values the store keys alike in Python (1.0,
# True), and operators, which must take the scan.
id_conditions = st.one_of(
    ids,
    st.booleans(),
    st.lists(ids, max_size=2),
    st.builds(lambda op, v: {op: v}, st.sampled_from(["$gt", "$lte", "$ne"]), ids),
    st.builds(lambda v: {"$in": v}, st.lists(ids, max_size=3)),
)
# Stored values of the types Python and MongoDB compare differently (1 == 1.0 == True in Python;
# Int64, Decimal128), arrays (nested too) and subdocuments.
scalars = st.one_of(
    st.integers(0, 3),
    st.sampled_from(["x", "y", 1.0, 2.5, True, False, Int64(1), Decimal128("1"), OBJECT_IDS[0]]),
    st.none(),
)
values = st.one_of(
    scalars,
    st.lists(st.one_of(scalars, st.lists(scalars, max_size=2)), max_size=3),
    st.fixed_dictionaries({"x": scalars}),
)
conditions = st.one_of(
    values,
    st.builds(lambda v: {"$in": v}, st.lists(values, max_size=3)),
    st.builds(lambda v: {"$gt": v}, st.integers(0, 3)),
    st.builds(lambda v: {"$exists": v}, st.booleans()),
)
documents = st.lists(
    st.fixed_dictionaries(
        {"_id": ids}, optional={"a": values, "b": values, "c": st.fixed_dictionaries({"d": values})}
    ),
    max_size=8,
)
filters = st.fixed_dictionaries(
    {}, optional={"_id": id_conditions, "a": conditions, "b": conditions, "c.d": conditions}
)


def collections_with_and_without_fast_path(docs: list[dict]) -> tuple[Any, Any]:
    """The synchronous mongomock collections behind two stores, holding the same documents."""
    pair = []
    for fast in (True, False):
        things = EmbeddedClient(id_fast_path=fast).get_database("test")["things"]
        stored = set()
        for doc in docs:
            if doc["_id"] not in stored:  # the store's keys: 1, 1.0 and True are one key
                stored.add(doc["_id"])
                things._sync.insert_one(dict(doc))
        pair.append(things._sync)
    return pair[0], pair[1]


@settings(max_examples=200, deadline=None)
@given(docs=documents, filter=filters)
def test_the_fast_paths_find_exactly_what_the_scan_finds(docs, filter):
    fast, scan = collections_with_and_without_fast_path(docs)

    try:
        scanned = list(scan._iter_documents(filter))
    except NotImplementedError:  # the mock cannot compare these (e.g. Decimal128 with $gt):
        reject()  # there is no answer to check the fast paths against
    assert list(fast._iter_documents(filter)) == scanned
    assert list(fast.find(filter)) == list(scan.find(filter))


async def apply(things, operation: tuple) -> Any:
    kind, key, value = operation
    if kind == "upsert":
        result = await things.update_one({"_id": key}, {"$set": {"a": value}}, upsert=True)
        return (result.matched_count, result.modified_count, result.upserted_id)
    if kind == "update_if":
        result = await things.update_one({"_id": key, "a": value}, {"$inc": {"n": 1}})
        return (result.matched_count, result.modified_count)
    if kind == "replace":
        result = await things.replace_one({"_id": key}, {"a": value, "b": "replaced"}, upsert=True)
        return (result.matched_count, result.upserted_id)
    if kind == "delete_id":
        return (await things.delete_one({"_id": key})).deleted_count
    if kind == "delete_field":
        return (await things.delete_many({"a": value})).deleted_count
    if kind == "find":
        return await things.find_one({"_id": key, "a": {"$exists": True}})
    return await things.count_documents({"_id": key})


operations = st.lists(
    st.tuples(
        st.sampled_from(
            ["upsert", "update_if", "replace", "delete_id", "delete_field", "find", "count"]
        ),
        st.one_of(st.integers(0, 4), st.sampled_from(["a", "b"])),
        st.integers(0, 2),
    ),
    max_size=25,
)


async def run_on_store(fast: bool, history: list[tuple]) -> tuple[list, list, list]:
    client = EmbeddedClient(interleave=False, id_fast_path=fast)
    things = client.get_database("test")["things"]
    results = [await apply(things, operation) for operation in history]
    contents = await things.find().to_list(None)
    changes = [
        {k: v for k, v in logged.event.items() if k not in ("_id", "clusterTime", "wallTime")}
        for logged in client.change_log.after(0)
    ]
    return results, contents, changes


@settings(max_examples=60, deadline=None)
@given(history=operations)
def test_operations_give_the_same_results_events_and_contents_with_the_fast_path(history):
    assert asyncio.run(run_on_store(True, history)) == asyncio.run(run_on_store(False, history))


def test_the_fast_path_tests_one_document_instead_of_scanning(monkeypatch):
    counted = []
    real = mongomock_collection.filter_applies

    def counting(filter, document, *args, **kwargs):
        counted.append(1)
        return real(filter, document, *args, **kwargs)

    monkeypatch.setattr(mongomock_collection, "filter_applies", counting)
    monkeypatch.setattr(fast_path, "filter_applies", counting)
    fast, scan = collections_with_and_without_fast_path([{"_id": n} for n in range(100)])

    counted.clear()
    assert fast.find_one({"_id": 42}) == {"_id": 42}
    assert len(counted) == 1
    counted.clear()
    assert scan.find_one({"_id": 42}) == {"_id": 42}
    assert len(counted) >= 43
