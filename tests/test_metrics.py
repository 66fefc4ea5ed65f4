"""The projector's metrics move with its work, its lag is honest, and /readyz fails on lag."""

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from bson.timestamp import Timestamp
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from gateway.embedded import create_embedded_stack
from query_service.projector import control, dead_letters, rebuild
from query_service.projector.metrics import Lag, scrape, written_at
from query_service.projector.rebuild import RebuildFailed
from query_service.projector.runner import Projector
from query_service.projector.service import create_projector_app
from query_service.read_models.timelines import TimelinesProjection
from tests.support import (
    PASSWORD,
    PROBLEM_JSON,
    Stack,
    User,
    asgi_client,
    make_settings,
    running_stack,
)
from tests.test_poison_and_healing import write_a_post_without_text

APPLIED = "microblog_projector_changes_applied_total"
CLASSIC_TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    found = registry.get_sample_value(name, labels)
    assert found is not None, f"{name}{labels} is not exposed"
    return found


def applied_by_type(registry: CollectorRegistry) -> Counter[tuple[str, str]]:
    return Counter(
        {
            (sample.labels["collection"], sample.labels["operation"]): sample.value
            for family in registry.collect()
            for sample in family.samples
            if sample.name == APPLIED
        }
    )


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def wait_until(condition, seconds: float = 10) -> None:
    async with asyncio.timeout(seconds):
        while not await condition():  # noqa: ASYNC110 (another task's state)
            await asyncio.sleep(0.02)


# ---- what the loop does, counted ----------------------------------------------------------------


async def test_changes_applied_are_counted_by_collection_and_operation(
    stack: Stack, alice: User, bob: User
):
    await stack.settle()
    registry = stack.projector.metrics.registry
    before = applied_by_type(registry)

    first = await alice.post("one")
    await alice.post("two")
    await bob.follow("alice")
    await alice.delete(first["id"])  # a tombstone: an update
    await bob.unfollow("alice")
    await stack.settle()

    assert applied_by_type(registry) - before == Counter(
        {("posts", "insert"): 2, ("follows", "insert"): 1, ("posts", "update"): 1}
        | {("follows", "delete"): 1}
    )


async def test_fanout_writes_count_every_timeline_entry_written_not_bulk_writes():
    async with running_stack(make_settings(projector_fanout_chunk=2)) as stack:
        alice, bob, carol, dave = [
            await stack.sign_up(h) for h in ("alice", "bob", "carol", "dave")
        ]
        await stack.settle()
        registry = stack.projector.metrics.registry
        before = value(registry, "microblog_projector_fanout_writes_total")

        await alice.post("before the follows")  # alice's own timeline: 1
        for follower in (bob, carol, dave):
            await follower.follow("alice")  # a backfill of 1 each: 3
        await alice.post("after the follows")  # alice and three followers, in chunks of 2: 4
        await stack.settle()

        written = value(registry, "microblog_projector_fanout_writes_total") - before
        assert written == 8
        assert written == await stack.database["timeline_entries"].count_documents({})


async def test_rebuilds_are_counted_by_outcome(stack: Stack, alice: User, monkeypatch):
    registry = stack.projector.metrics.registry
    assert value(registry, "microblog_projector_rebuilds_total", outcome="done") == 0

    await stack.settle()  # the first start: no checkpoint, so a rebuild
    assert value(registry, "microblog_projector_rebuilds_total", outcome="done") == 1

    async def swap_fails(database):
        raise RebuildFailed("the swap failed")

    monkeypatch.setattr(rebuild, "swap_in", swap_fails)
    await control.request_rebuild(stack.database)
    with pytest.raises(RebuildFailed):
        await stack.settle()
    assert value(registry, "microblog_projector_rebuilds_total", outcome="failed") == 1

    monkeypatch.undo()
    await control.request_rebuild(stack.database)
    await stack.settle()
    assert value(registry, "microblog_projector_rebuilds_total", outcome="done") == 2
    assert value(registry, "microblog_projector_rebuilds_total", outcome="failed") == 1


async def test_dead_letters_are_counted_and_the_parked_ones_gauged_at_scrape(
    stack: Stack, alice: User
):
    await stack.settle()
    registry = stack.projector.metrics.registry
    before = applied_by_type(registry)

    await write_a_post_without_text(stack, alice)
    await write_a_post_without_text(stack, alice)
    await alice.post("fine")
    await stack.settle()

    assert value(registry, "microblog_projector_dead_letters_total") == 2
    assert applied_by_type(registry) - before == Counter({("posts", "insert"): 1})
    text, _ = await scrape(stack.projector.metrics, stack.database, "")
    assert parse(text.decode())[("microblog_projector_parked_changes", frozenset())] == 2

    await dead_letters.discard(stack.database, None)
    text, _ = await scrape(stack.projector.metrics, stack.database, "")
    assert parse(text.decode())[("microblog_projector_parked_changes", frozenset())] == 0
    assert value(registry, "microblog_projector_dead_letters_total") == 2  # a counter stays


# ---- lag ----------------------------------------------------------------------------------------


def test_lag_follows_what_the_loop_reads_and_applies():
    now = 1000.0
    lag = Lag(clock=lambda: now)
    written = {"wallTime": datetime.fromtimestamp(990, UTC)}
    later = {"wallTime": datetime.fromtimestamp(995, UTC)}
    assert lag.seconds() == 0  # nothing read yet

    lag.read(written)
    assert lag.seconds() == 10  # in hand since 990
    now = 1030.0
    assert lag.seconds() == 40  # a hanging handler: it grows
    lag.passed(written)
    lag.read(later)
    assert lag.seconds() == 35
    lag.passed(later)
    assert lag.seconds() == 35  # between reads: since the last applied change
    lag.idle()
    assert lag.seconds() == 0

    lag.rebuilding()
    now = 1042.0
    assert lag.seconds() == 12  # frozen since the rebuild began
    lag.idle()
    assert lag.seconds() == 0


def test_lag_never_goes_negative_under_clock_skew():
    lag = Lag(clock=lambda: 1000.0)
    lag.read({"wallTime": datetime.fromtimestamp(1005, UTC)})  # MongoDB's clock runs ahead
    assert lag.seconds() == 0


def test_a_change_is_dated_by_its_wall_time_else_its_cluster_time():
    aware = datetime(2026, 1, 1, tzinfo=UTC)
    assert written_at({"wallTime": aware}) == aware.timestamp()
    assert written_at({"wallTime": aware.replace(tzinfo=None)}) == aware.timestamp()  # PyMongo
    assert written_at({"clusterTime": Timestamp(1_700_000_000, 3)}) == 1_700_000_000


async def test_lag_is_zero_when_idle(stack: Stack, alice: User):
    await alice.post("hello")
    await stack.settle()
    await asyncio.sleep(0.05)  # time passes; nothing waits

    assert value(stack.projector.metrics.registry, "microblog_projector_lag_seconds") == 0


async def test_lag_grows_while_a_projection_hangs_and_readyz_fails_then_recovers(monkeypatch):
    release = asyncio.Event()
    original = TimelinesProjection.apply

    async def hangs(self, context, change):
        await release.wait()
        await original(self, context, change)

    async with running_stack(make_settings(projector_max_lag_seconds=0.3)) as stack:
        app = create_projector_app(stack.settings, stack.connection)
        async with app.router.lifespan_context(app), asgi_client(app) as client:
            alice = await stack.sign_up("alice")
            projector: Projector = app.state.projector
            lag = projector.metrics.lag

            async def ready() -> bool:
                return (await client.get("/readyz")).status_code == 200

            async def idle() -> bool:
                return lag.seconds() == 0 and await ready()

            await wait_until(idle)

            monkeypatch.setattr(TimelinesProjection, "apply", hangs)
            before_post = time.time()
            await alice.post("this one hangs the projection")
            after_post = time.time()

            async def lagging() -> bool:
                return lag.seconds() > 0.5

            try:
                await wait_until(lagging)
                # It is measured from the waiting change's write time.
                start = time.time()
                seen = lag.seconds()
                assert start - after_post <= seen <= time.time() - before_post
                await asyncio.sleep(0.1)
                assert lag.seconds() >= seen + 0.1  # it grows while the handler hangs

                response = await client.get("/readyz")
                assert response.status_code == 503
                assert response.headers["content-type"] == PROBLEM_JSON
                assert response.json()["type"] == "urn:microblog:problem:lagging"
                exposed = parse((await client.get("/metrics")).text)
                assert exposed[("microblog_projector_lag_seconds", frozenset())] > 0.5
            finally:
                release.set()  # a failing assertion must not leave the loop hanging
            await wait_until(ready)
            assert lag.seconds() == 0
            assert (await client.get("/readyz")).json()["lag_seconds"] == 0


# ---- the endpoints ------------------------------------------------------------------------------


async def test_the_projector_serves_its_metrics_in_the_prometheus_text_format():
    async with running_stack(make_settings()) as stack:
        app = create_projector_app(stack.settings, stack.connection)
        async with app.router.lifespan_context(app), asgi_client(app) as client:
            # Once it follows the stream: a sign-up made before would be replayed by the first
            # rebuild, which counts no change applied (a slow start made this test time out).
            async def following() -> bool:
                return bool(app.state.projector.status.phase == "following")

            await wait_until(following)
            await stack.sign_up("alice")

            async def applied() -> bool:
                text = (await client.get("/metrics")).text
                return (APPLIED, frozenset({("collection", "users"), ("operation", "insert")})) in (
                    parse(text)
                )

            await wait_until(applied)
            response = await client.get("/metrics")
            assert response.status_code == 200
            assert response.headers["content-type"] == CLASSIC_TEXT_FORMAT
            exposed = parse(response.text)
            assert exposed[("microblog_projector_leader", frozenset())] == 1
            assert exposed[("microblog_projector_parked_changes", frozenset())] == 0
            for name in (
                "microblog_projector_lag_seconds",
                "microblog_projector_fanout_writes_total",
                "microblog_projector_dead_letters_total",
                "microblog_projector_batch_seconds_count",
            ):
                assert (name, frozenset()) in exposed, name
        assert (
            app.state.projector.metrics.registry.get_sample_value("microblog_projector_leader") == 0
        )


async def test_the_embedded_gateway_serves_the_projectors_metrics_itself():
    gateway = create_embedded_stack(make_settings())
    async with gateway._own.router.lifespan_context(gateway._own), asgi_client(gateway) as client:
        # Once it follows the stream: a sign-up made before would be replayed by the first
        # rebuild, which counts no change applied.
        projector = gateway._own.state.projector

        async def following() -> bool:
            return bool(projector.status.phase == "following")

        await wait_until(following)
        body = {"handle": "alice", "password": PASSWORD, "display_name": "Alice"}
        assert (await client.post("/command/v1/users", json=body)).status_code == 201

        async def applied() -> bool:
            exposed = parse((await client.get("/metrics")).text)
            key = (APPLIED, frozenset({("collection", "users"), ("operation", "insert")}))
            return exposed.get(key) == 1

        await wait_until(applied)
        response = await client.get("/metrics")
        assert response.headers["content-type"] == CLASSIC_TEXT_FORMAT
        assert parse(response.text)[("microblog_projector_leader", frozenset())] == 1
