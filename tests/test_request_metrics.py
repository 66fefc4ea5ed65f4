"""Each process's series, scraped from `/metrics` and parsed after a user story: requests by route
template, method and status, requests in flight, MongoDB commands by collection and command,
rate-limit rejections, and write→visible latency per change type."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from gateway.embedded import create_embedded_stack
from gateway.routing import upstream_for
from query_service.projector.metrics import ProjectorMetrics
from service_kit.mongo.embedded import EmbeddedClient
from service_kit.observability.metrics import Telemetry
from service_kit.observability.mongo import CommandMonitor
from tests.support import PASSWORD, Stack, make_settings, running_stack
from tests.test_gateway import serving

REQUESTS = "microblog_http_request_duration_seconds_count"
COMMANDS = "microblog_mongodb_command_duration_seconds_count"
VISIBLE = "microblog_projector_write_to_visible_seconds"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def series(samples: Samples, name: str, **fixed: str) -> dict[tuple[str, ...], float]:
    """The samples of `name` whose labels include `fixed`, keyed by their other label values
    (in label-name order)."""
    found = {}
    for (sample_name, labels), value in samples.items():
        if sample_name != name:
            continue
        as_dict = dict(labels)
        if any(as_dict.get(key) != wanted for key, wanted in fixed.items()):
            continue
        rest = tuple(as_dict[key] for key in sorted(as_dict) if key not in fixed)
        found[rest] = value
    return found


async def scrape(stack: Stack) -> Samples:
    response = await stack.command.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def projector_samples(stack: Stack) -> Samples:
    """The projector's own series (its process serves them at its /metrics)."""
    return parse(generate_latest(stack.projector.metrics.registry).decode())


async def sign_up_and_in(stack: Stack, handle: str) -> dict[str, str]:
    body = {"handle": handle, "password": PASSWORD, "display_name": handle.title()}
    assert (await stack.command.post("/command/v1/users", json=body)).status_code == 201
    session = await stack.command.post(
        "/command/v1/sessions", json={"handle": handle, "password": PASSWORD}
    )
    assert session.status_code == 200
    return {"Authorization": f"Bearer {session.json()['access_token']}"}


async def test_a_user_story_is_counted_by_route_template_method_and_status(stack: Stack):
    await stack.settle()  # the projector's first (empty) rebuild: what follows comes off the stream
    alice = await sign_up_and_in(stack, "alice")
    bob = await sign_up_and_in(stack, "bob")
    assert (await stack.command.put("/command/v1/users/alice/follow", headers=bob)).status_code == (
        204
    )
    posted = []
    for text in ("one", "two"):
        response = await stack.command.post("/command/v1/posts", json={"text": text}, headers=alice)
        assert response.status_code == 201
        posted.append(response.json()["id"])
    await stack.settle()
    assert (await stack.query.get("/query/v1/timeline", headers=bob)).status_code == 200
    assert (await stack.query.get(f"/query/v1/posts/{posted[0]}")).status_code == 200
    assert (await stack.query.get(f"/query/v1/posts/{'0' * 24}")).status_code == 404
    assert (await stack.query.head("/query/v1/users/alice")).status_code == 200
    assert (await stack.query.get("/query/v1/no/such/route")).status_code == 404
    assert (await stack.query.post("/query/v1/timeline")).status_code == 405

    samples = await scrape(stack)

    assert series(samples, REQUESTS, service="command") == {
        ("POST", "/command/v1/users", "201"): 2,
        ("POST", "/command/v1/sessions", "200"): 2,
        ("PUT", "/command/v1/users/{handle}/follow", "204"): 1,
        ("POST", "/command/v1/posts", "201"): 2,
    }
    assert series(samples, REQUESTS, service="query") == {
        ("GET", "/query/v1/timeline", "200"): 1,
        ("GET", "/query/v1/posts/{post_id}", "200"): 1,
        ("GET", "/query/v1/posts/{post_id}", "404"): 1,
        ("HEAD", "/query/v1/users/{handle}", "200"): 1,
        ("GET", "unmatched", "404"): 1,
        ("POST", "/query/v1/timeline", "405"): 1,
    }
    # Nothing is in flight but the scrape that reads the gauge.
    assert series(samples, "microblog_http_requests_in_flight") == {("command",): 1, ("query",): 0}
    # The writes, as MongoDB commands (labels: collection, operation, outcome).
    commands = series(samples, COMMANDS)
    assert commands[("users", "insert", "ok")] == 2
    assert commands[("posts", "insert", "ok")] == 2
    assert commands[("follows", "update", "ok")] == 1  # an upsert: an update command
    assert commands[("post_sequences", "findAndModify", "ok")] == 2
    assert all(outcome == "ok" for _, _, outcome in commands)
    # Write→visible, per change type, only for what the projector followed from the stream.
    visible = series(projector_samples(stack), f"{VISIBLE}_count")
    assert visible == {("users", "insert"): 2, ("follows", "insert"): 1, ("posts", "insert"): 2}


async def test_the_scrape_of_a_request_shows_it_as_its_own_series(stack: Stack):
    first = await scrape(stack)
    second = await scrape(stack)

    metrics_route = ("GET", "/metrics", "200")
    assert series(first, REQUESTS, service="command").get(metrics_route, 0) == 0
    assert series(second, REQUESTS, service="command")[metrics_route] == 1


async def test_requests_in_flight_count_a_query_waiting_for_the_projector(stack: Stack):
    await stack.settle()
    alice = await sign_up_and_in(stack, "alice")
    written = await stack.command.post("/command/v1/posts", json={"text": "hi"}, headers=alice)
    token = written.headers["X-Consistency-Token"]
    telemetry = stack.connection.telemetry
    waiting = asyncio.create_task(
        stack.query.get("/query/v1/users/alice", headers={"X-Consistency-Token": token})
    )
    in_flight = telemetry.requests_in_flight.labels(service="query")
    async with asyncio.timeout(5):
        while in_flight._value.get() == 0:  # noqa: ASYNC110 (another task's progress)
            await asyncio.sleep(0.005)

    during = series(await scrape(stack), "microblog_http_requests_in_flight")
    await stack.settle()  # the projector applies the post: the waiting query answers
    answer = await waiting

    assert during == {("command",): 1, ("query",): 1}
    assert answer.headers["X-Consistency"] == "fresh"
    assert series(await scrape(stack), "microblog_http_requests_in_flight")[("query",)] == 0


async def test_rate_limit_rejections_are_counted_by_limit():
    settings = make_settings(rate_limit_sign_in_per_handle="2/minute")
    async with running_stack(settings) as stack:
        await sign_up_and_in(stack, "alice")  # one sign-in
        attempts = [
            await stack.command.post(
                "/command/v1/sessions", json={"handle": "alice", "password": "wrong password"}
            )
            for _ in range(3)
        ]
        samples = await scrape(stack)

    assert [attempt.status_code for attempt in attempts] == [401, 429, 429]
    assert series(samples, "microblog_rate_limit_rejections_total") == {
        ("sign-up-ip",): 0,
        ("sign-in-ip",): 0,
        ("sign-in-handle",): 2,
        ("refresh-ip",): 0,
        ("writes",): 0,
    }
    assert (
        series(samples, REQUESTS, service="command")[("POST", "/command/v1/sessions", "429")] == 2
    )


def test_write_to_visible_is_measured_from_the_changes_write_time():
    now = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    metrics = ProjectorMetrics(clock=lambda: now.timestamp())
    change = {
        "operationType": "insert",
        "ns": {"db": "microblog", "coll": "posts"},
        "wallTime": now - timedelta(seconds=3),
    }
    metrics.visible(change)
    metrics.visible({**change, "wallTime": now + timedelta(seconds=1)})  # a clock ahead: 0

    def bucket(le: str) -> float | None:
        return metrics.registry.get_sample_value(
            f"{VISIBLE}_bucket", {"collection": "posts", "operation": "insert", "le": le}
        )

    assert bucket("0.005") == 1  # the one from a clock ahead, clamped at 0
    assert bucket("2.5") == 1
    assert bucket("5.0") == 2
    labels = {"collection": "posts", "operation": "insert"}
    assert metrics.registry.get_sample_value(f"{VISIBLE}_sum", labels) == pytest.approx(3.0)


async def test_changes_replayed_by_a_rebuild_are_not_measured_as_visible(stack: Stack):
    alice = await sign_up_and_in(stack, "alice")
    await stack.command.post("/command/v1/posts", json={"text": "before"}, headers=alice)
    await stack.settle()  # no checkpoint yet: a rebuild replays both writes

    samples = projector_samples(stack)

    assert series(samples, f"{VISIBLE}_count") == {}
    applied = series(samples, "microblog_projector_changes_applied_total")
    assert applied == {}  # replays are not applied changes either


async def test_the_embedded_gateway_serves_every_series_of_its_process_at_metrics():
    async with serving(create_embedded_stack(make_settings())) as client:
        created = await client.post(
            "/command/v1/users",
            json={"handle": "alice", "password": PASSWORD, "display_name": "Alice"},
        )
        assert created.status_code == 201
        samples = parse((await client.get("/metrics")).text)

    assert upstream_for("/metrics") is None  # the gateway's own, as on the Ingress: not routed
    assert series(samples, REQUESTS, service="command") == {("POST", "/command/v1/users", "201"): 1}
    assert series(samples, COMMANDS, collection="users", operation="insert") == {("ok",): 1}
    assert ("microblog_projector_lag_seconds", frozenset()) in samples


# ---- the embedded store reports commands as the driver would --------------------------------


class Recorder(CommandMonitor):
    def __init__(self) -> None:
        self.telemetry = Telemetry()
        super().__init__(self.telemetry)
        self.names: list[tuple[str, str, str]] = []

    def started(self, event):  # type: ignore[no-untyped-def]
        super().started(event)
        self.names.append((event.database_name, event.command_name, str(event.command)))


@pytest.mark.embedded_only
async def test_the_embedded_store_emits_pymongos_command_events_as_the_driver_sends_them():
    from pymongo import DeleteMany, InsertOne, UpdateOne

    recorder = Recorder()
    database = EmbeddedClient(event_listeners=[recorder]).get_database("db")
    things = database["things"]
    await things.insert_one({"_id": 1})
    await things.find_one({"_id": 1})
    await things.count_documents({})
    cursor = things.find({}).sort("_id", 1)
    assert [document["_id"] async for document in cursor] == [1]
    await things.find({}).to_list(None)
    await things.find_one_and_update({"_id": 1}, {"$set": {"x": 1}})
    await things.bulk_write([UpdateOne({"_id": 2}, {"$set": {"x": 1}}, upsert=True)] * 2)
    await things.bulk_write(
        [InsertOne({"_id": 3}), UpdateOne({"_id": 3}, {"$set": {"y": 1}}), DeleteMany({})]
    )
    await things.bulk_write(
        [DeleteMany({"_id": 9}), InsertOne({"_id": 4}), InsertOne({"_id": 5})], ordered=False
    )
    await database.command("ping")
    await things.rename("others")

    names = [(db, name) for db, name, _ in recorder.names]
    assert names == [
        ("db", "insert"),
        ("db", "find"),
        ("db", "aggregate"),  # count_documents, as PyMongo runs it
        ("db", "find"),  # one per cursor, at its first fetch
        ("db", "find"),
        ("db", "findAndModify"),
        ("db", "update"),  # a bulk write of one kind: one command
        ("db", "insert"),  # ordered, of three kinds: one command per run
        ("db", "update"),
        ("db", "delete"),
        ("db", "insert"),  # unordered: one per kind, inserts first
        ("db", "delete"),
        ("db", "ping"),
        ("admin", "renameCollection"),
    ]
    commands = series(parse_registry(recorder), COMMANDS)
    assert commands[("things", "insert", "ok")] == 3
    assert commands[("things", "find", "ok")] == 3
    assert commands[("$cmd", "ping", "ok")] == 1
    assert commands[("$cmd", "renameCollection", "ok")] == 1


@pytest.mark.embedded_only
async def test_a_failed_embedded_command_is_reported_failed():
    from pymongo.errors import DuplicateKeyError

    recorder = Recorder()
    things = EmbeddedClient(event_listeners=[recorder]).get_database("db")["things"]
    await things.insert_one({"_id": 1})
    with pytest.raises(DuplicateKeyError):
        await things.insert_one({"_id": 1})

    commands = series(parse_registry(recorder), COMMANDS)
    assert commands == {("things", "insert", "ok"): 1, ("things", "insert", "error"): 1}


def parse_registry(recorder: Recorder) -> Samples:
    return parse(generate_latest(recorder.telemetry.registry).decode())
