"""The embedded change streams behave like MongoDB's in every way the projector relies on."""

import asyncio
from datetime import datetime

import pytest
from bson.timestamp import Timestamp
from pymongo import DeleteOne, InsertOne, UpdateOne
from pymongo.errors import BulkWriteError, OperationFailure

from service_kit.mongo.connection import connect_embedded
from service_kit.mongo.embedded.change_stream import ChangeLog
from tests.support import make_settings

WAIT_MS = 10


@pytest.fixture
def database():
    return connect_embedded(make_settings()).database


async def drain(stream) -> list[dict]:
    changes = []
    while (change := await stream.try_next()) is not None:
        changes.append(change)
    return changes


async def test_each_operation_yields_a_mongodb_shaped_event(database):
    stream = await database.watch(full_document="updateLookup", max_await_time_ms=WAIT_MS)
    things = database["things"]

    await things.insert_one({"_id": 1, "name": "a", "tags": ["x"]})
    await things.update_one({"_id": 1}, {"$set": {"name": "b"}, "$unset": {"tags": ""}})
    await things.replace_one({"_id": 1}, {"name": "c"})
    await things.delete_one({"_id": 1})

    insert, update, replace, delete = await drain(stream)
    for change in (insert, update, replace, delete):
        assert set(change["_id"]) == {"_data"}
        assert isinstance(change["_id"]["_data"], str)
        assert isinstance(change["clusterTime"], Timestamp)
        assert isinstance(change["wallTime"], datetime)
        assert change["ns"] == {"db": database.name, "coll": "things"}
        assert change["documentKey"] == {"_id": 1}
    assert [c["operationType"] for c in (insert, update, replace, delete)] == [
        "insert",
        "update",
        "replace",
        "delete",
    ]
    assert insert["fullDocument"] == {"_id": 1, "name": "a", "tags": ["x"]}
    assert update["updateDescription"] == {
        "updatedFields": {"name": "b"},
        "removedFields": ["tags"],
        "truncatedArrays": [],
    }
    assert replace["fullDocument"] == {"_id": 1, "name": "c"}
    assert "fullDocument" not in delete
    assert "updateDescription" not in delete
    times = [c["clusterTime"] for c in (insert, update, replace, delete)]
    assert times == sorted(times)
    assert len(set(times)) == 4


async def test_update_lookup_reads_the_version_current_when_the_batch_is_built(database):
    things = database["things"]
    await things.insert_one({"_id": 1, "v": 0})
    stream = await database.watch(full_document="updateLookup", max_await_time_ms=WAIT_MS)

    await things.update_one({"_id": 1}, {"$set": {"v": 1}})
    await things.update_one({"_id": 1}, {"$set": {"v": 2}})
    first, second = await drain(stream)
    assert (
        first["fullDocument"] == second["fullDocument"] == {"_id": 1, "v": 2}
    )  # newer than the change

    await things.update_one({"_id": 1}, {"$set": {"v": 3}})
    await things.delete_one({"_id": 1})
    third, deleted = await drain(stream)
    assert third["operationType"] == "update"
    assert third["fullDocument"] is None  # deleted before the lookup
    assert deleted["operationType"] == "delete"


async def test_without_update_lookup_updates_carry_no_full_document(database):
    await database["things"].insert_one({"_id": 1, "v": 0})
    stream = await database.watch(max_await_time_ms=WAIT_MS)
    await database["things"].update_one({"_id": 1}, {"$inc": {"v": 1}})

    (change,) = await drain(stream)
    assert "fullDocument" not in change


async def test_updates_that_change_nothing_have_no_event_and_upserts_are_inserts(database):
    things = database["things"]
    await things.insert_one({"_id": 1, "v": 0})
    stream = await database.watch(max_await_time_ms=WAIT_MS)

    await things.update_one({"_id": 1}, {"$set": {"v": 0}})
    await things.update_one({"_id": 2}, {"$setOnInsert": {"v": 5}}, upsert=True)
    await things.update_one({"_id": 2}, {"$setOnInsert": {"v": 9}}, upsert=True)

    (change,) = await drain(stream)
    assert change["operationType"] == "insert"
    assert change["fullDocument"] == {"_id": 2, "v": 5}


async def test_resume_after_continues_after_the_token(database):
    stream = await database.watch(max_await_time_ms=WAIT_MS)
    for n in range(5):
        await database["things"].insert_one({"_id": n})
    changes = await drain(stream)

    resumed = await database.watch(resume_after=changes[1]["_id"], max_await_time_ms=WAIT_MS)
    started_after = await database.watch(start_after=changes[1]["_id"], max_await_time_ms=WAIT_MS)

    assert [c["documentKey"]["_id"] for c in await drain(resumed)] == [2, 3, 4]
    assert [c["documentKey"]["_id"] for c in await drain(started_after)] == [2, 3, 4]


async def test_start_at_operation_time_includes_that_time(database):
    stream = await database.watch(max_await_time_ms=WAIT_MS)
    for n in range(3):
        await database["things"].insert_one({"_id": n})
    changes = await drain(stream)

    from_second = await database.watch(
        start_at_operation_time=changes[1]["clusterTime"], max_await_time_ms=WAIT_MS
    )

    assert [c["documentKey"]["_id"] for c in await drain(from_second)] == [1, 2]


async def test_a_new_stream_starts_now_and_has_a_resume_token(database):
    await database["things"].insert_one({"_id": "before"})
    stream = await database.watch(max_await_time_ms=WAIT_MS)
    token = stream.resume_token
    await database["things"].insert_one({"_id": "after"})

    assert token is not None
    assert [c["documentKey"]["_id"] for c in await drain(stream)] == ["after"]
    assert [
        c["documentKey"]["_id"]
        for c in await drain(await database.watch(resume_after=token, max_await_time_ms=WAIT_MS))
    ] == ["after"]


async def test_match_filters_and_the_token_advances_past_filtered_changes(database):
    stream = await database.watch(
        [{"$match": {"ns.coll": {"$in": ["wanted"]}}}], max_await_time_ms=WAIT_MS
    )
    await database["wanted"].insert_one({"_id": 1})
    await database["other"].insert_one({"_id": 2})

    changes = await drain(stream)
    assert [c["ns"]["coll"] for c in changes] == ["wanted"]
    assert stream.resume_token != changes[0]["_id"]  # like postBatchResumeToken
    assert (
        await drain(
            await database.watch(resume_after=stream.resume_token, max_await_time_ms=WAIT_MS)
        )
        == []
    )


async def test_a_token_older_than_the_history_fails_with_code_286():
    database = connect_embedded(make_settings(embedded_change_history=10)).database
    stream = await database.watch(max_await_time_ms=WAIT_MS)
    await database["things"].insert_one({"_id": 0})
    first = await stream.try_next()
    await database["things"].insert_many([{"_id": n} for n in range(1, 12)])

    with pytest.raises(OperationFailure) as lost:
        await database.watch(resume_after=first["_id"])
    assert lost.value.code == 286
    assert lost.value.details["codeName"] == "ChangeStreamHistoryLost"

    with pytest.raises(OperationFailure) as fell_behind:
        await stream.try_next()
    assert fell_behind.value.code == 286


@pytest.mark.parametrize(
    "token",
    [
        {"_data": "zz"},
        {"nope": 1},
        {"_data": "82FFFFFFFFFFFFFFFF"},
        {"_data": "820000000000000000FF"},
    ],
)
async def test_invalid_tokens_are_rejected(database, token):
    with pytest.raises(OperationFailure) as rejected:
        await database.watch(resume_after=token)
    assert rejected.value.code == 2


async def test_resume_options_are_mutually_exclusive(database):
    stream = await database.watch()
    with pytest.raises(OperationFailure):
        await database.watch(
            resume_after=stream.resume_token, start_at_operation_time=Timestamp(1, 1)
        )


async def test_a_collection_stream_sees_only_its_collection_and_is_invalidated_by_a_drop(database):
    stream = await database["things"].watch(max_await_time_ms=WAIT_MS)
    await database["things"].insert_one({"_id": 1})
    await database["other"].insert_one({"_id": 2})
    await database["things"].drop()
    await database["things"].insert_one({"_id": 3})

    insert, drop, invalidate = await drain(stream)
    assert [c["operationType"] for c in (insert, drop, invalidate)] == [
        "insert",
        "drop",
        "invalidate",
    ]
    assert set(drop) == {"_id", "operationType", "clusterTime", "wallTime", "ns"}  # no documentKey
    assert drop["ns"] == {"db": database.name, "coll": "things"}
    assert set(invalidate) == {"_id", "operationType", "clusterTime", "wallTime"}
    assert not stream.alive


async def test_bulk_write_with_upserts_works_and_records_each_change(database):
    stream = await database.watch(max_await_time_ms=WAIT_MS)
    things = database["things"]

    result = await things.bulk_write(
        [
            InsertOne({"_id": 1}),
            UpdateOne({"_id": 2}, {"$set": {"v": 2}}, upsert=True),
            UpdateOne({"_id": 1}, {"$set": {"v": 1}}),
            DeleteOne({"_id": 1}),
        ],
        ordered=False,
    )

    assert (
        result.inserted_count,
        result.upserted_count,
        result.modified_count,
        result.deleted_count,
    ) == (1, 1, 1, 1)
    assert result.upserted_ids == {1: 2}
    assert [c["operationType"] for c in await drain(stream)] == [
        "insert",
        "insert",
        "update",
        "delete",
    ]


async def test_bulk_write_reports_duplicate_keys_like_the_driver(database):
    await database["things"].insert_one({"_id": 1})

    with pytest.raises(BulkWriteError) as failed:
        await database["things"].bulk_write(
            [InsertOne({"_id": 1}), InsertOne({"_id": 2})], ordered=False
        )

    assert failed.value.details["nInserted"] == 1
    assert [error["code"] for error in failed.value.details["writeErrors"]] == [11000]


async def test_try_next_waits_for_a_change_at_most_max_await(database):
    import asyncio
    import time

    stream = await database.watch(max_await_time_ms=50)
    started = time.monotonic()
    assert await stream.try_next() is None
    assert time.monotonic() - started >= 0.04

    async def write_soon():
        await asyncio.sleep(0.01)
        await database["things"].insert_one({"_id": "late"})

    writer = asyncio.create_task(write_soon())
    change = await stream.next()
    await writer
    assert change["documentKey"] == {"_id": "late"}


async def test_command_responses_carry_an_operation_time_to_start_a_stream_at(database):
    empty = (await database.command("ping"))["operationTime"]
    await database["things"].insert_one({"_id": 1})
    mark = await database.command("ping")
    await database["things"].insert_many([{"_id": 2}, {"_id": 3}])

    assert isinstance(mark["operationTime"], Timestamp)
    assert mark["$clusterTime"]["clusterTime"] == mark["operationTime"]
    from_mark = await database.watch(
        start_at_operation_time=mark["operationTime"], max_await_time_ms=WAIT_MS
    )
    # At most the change at exactly that time comes again; every later one comes.
    assert [c["documentKey"]["_id"] for c in await drain(from_mark)] == [1, 2, 3]
    from_empty = await database.watch(start_at_operation_time=empty, max_await_time_ms=WAIT_MS)
    assert [c["documentKey"]["_id"] for c in await drain(from_empty)] == [1, 2, 3]


async def test_an_operation_time_outside_the_history_fails_with_code_286():
    database = connect_embedded(make_settings(embedded_change_history=10)).database
    await database["things"].insert_one({"_id": 0})
    mark = (await database.command("ping"))["operationTime"]
    await database["things"].insert_many([{"_id": n} for n in range(1, 12)])

    with pytest.raises(OperationFailure) as lost:
        await database.watch(start_at_operation_time=mark)
    assert lost.value.code == 286


async def test_rename_is_recorded_on_the_source_and_invalidates_streams_on_either_name(database):
    await database["fresh"].insert_one({"_id": 1})
    await database["live"].insert_one({"_id": 2})
    on_database = await database.watch(max_await_time_ms=WAIT_MS)
    on_source = await database["fresh"].watch(max_await_time_ms=WAIT_MS)
    on_target = await database["live"].watch(max_await_time_ms=WAIT_MS)

    await database["fresh"].rename("live", dropTarget=True)
    await database["live"].insert_one({"_id": 3})

    rename, insert = await drain(on_database)
    assert rename["operationType"] == "rename"
    assert rename["ns"] == {"db": database.name, "coll": "fresh"}
    assert rename["to"] == {"db": database.name, "coll": "live"}
    assert "documentKey" not in rename
    assert insert["ns"]["coll"] == "live"
    for stream in (on_source, on_target):
        assert [c["operationType"] for c in await drain(stream)] == ["rename", "invalidate"]
        assert not stream.alive


async def test_drop_database_drops_each_collection_then_the_database_then_invalidates(database):
    await database["a"].insert_one({"_id": 1})
    await database["b"].insert_one({"_id": 1})
    on_database = await database.watch(max_await_time_ms=WAIT_MS)
    on_collection = await database["a"].watch(max_await_time_ms=WAIT_MS)
    other_database = database.client.get_database("other")
    on_other = await other_database.watch(max_await_time_ms=WAIT_MS)

    await database.client.drop_database(database.name)
    await other_database["c"].insert_one({"_id": 1})

    changes = await drain(on_database)
    assert [(c["operationType"], c["ns"].get("coll")) for c in changes[:2]] == [
        ("drop", "a"),
        ("drop", "b"),
    ]
    assert changes[2]["operationType"] == "dropDatabase"
    assert changes[2]["ns"] == {"db": database.name}
    assert "documentKey" not in changes[2]
    assert changes[3]["operationType"] == "invalidate"
    assert len(changes) == 4
    assert not on_database.alive
    assert [c["operationType"] for c in await drain(on_collection)] == ["drop", "invalidate"]
    assert [c["operationType"] for c in await drain(on_other)] == ["insert"]


async def test_drop_collection_records_a_drop_and_dropping_nothing_records_nothing(database):
    await database["things"].insert_one({"_id": 1})
    stream = await database.watch(max_await_time_ms=WAIT_MS)

    await database.drop_collection("things")
    await database.drop_collection("never_created")

    (drop,) = await drain(stream)
    assert drop["operationType"] == "drop"
    assert drop["ns"] == {"db": database.name, "coll": "things"}
    assert "documentKey" not in drop
    assert stream.alive  # a database stream goes on after a collection drop


async def test_start_after_an_invalidate_opens_a_stream_after_it_and_resume_after_refuses_it(
    database,
):
    stream = await database["things"].watch(max_await_time_ms=WAIT_MS)
    await database["things"].insert_one({"_id": 1})
    await database["things"].drop()
    await database["things"].insert_one({"_id": 2})
    _, drop, invalidate = await drain(stream)
    assert invalidate["_id"] != drop["_id"]
    assert stream.resume_token == invalidate["_id"]

    after = await database["things"].watch(start_after=invalidate["_id"], max_await_time_ms=WAIT_MS)
    assert [c["documentKey"]["_id"] for c in await drain(after)] == [2]
    with pytest.raises(OperationFailure) as refused:
        await database["things"].watch(resume_after=invalidate["_id"])
    assert refused.value.code == 260  # InvalidResumeToken


async def test_a_stream_waiting_for_changes_is_cancelled_even_when_one_arrives_at_that_moment():
    """A getMore that is cancelled in the step in which a change arrives still ends in the
    cancellation (`asyncio.wait_for` on Python 3.11 returned normally and lost it: a killed
    projector went on)."""
    log = ChangeLog(history=10)
    waiting = asyncio.create_task(log.wait_for_append(log.last_sequence, seconds=5))
    await asyncio.sleep(0)  # it waits now
    log.append("insert", "microblog", "posts", {"_id": 1})
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
