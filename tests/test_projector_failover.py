"""Several projector replicas on one store: one projects, a standby takes over when it dies, and a
leader that cannot renew sends no write after its deadline, even when its event loop stalls."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from query_service.projector.leadership import Fence, LeaderElection, MongoLease, fenced
from query_service.projector.leadership.election import now
from query_service.projector.projection import ProjectionContext
from query_service.projector.runner import Projector, run_while_leading
from query_service.projector.service import create_projector_app
from service_kit.mongo.connection import connect_embedded
from tests.support import Stack, asgi_client, make_settings
from tests.test_projector import matches_the_specification, steady_writes, write_a_busy_day

# Short, for quick tests, but with a margin (LEASE - 2 RENEW) of 0.5 s: a leader whose event loop
# stalls longer than that (a full garbage collection late in a long test session) rightly loses
# the lease, which would take the tests off their script.
LEASE, RENEW = 1.5, 0.5
SLACK = 0.3


class RecordingFence(Fence):
    """Never refuses; records when each write passed the real fence above it (when a driver
    would have sent it)."""

    def __init__(self) -> None:
        super().__init__()
        self.sends: list[float] = []

    def check(self) -> None:
        self.sends.append(now())


class TrackingFence(Fence):
    """The election's real fence, remembering every deadline it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.deadlines: list[float] = []

    def open_until(self, deadline: float) -> None:
        super().open_until(deadline)
        self.deadlines.append(deadline)


@dataclass
class Replica:
    name: str
    election: LeaderElection
    projector: Projector
    writes: RecordingFence
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    @property
    def fence(self) -> TrackingFence:
        assert isinstance(self.election.fence, TrackingFence)
        return self.election.fence

    async def kill(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.wait({self.task})


def replica(stack: Stack, name: str) -> Replica:
    election = LeaderElection(
        MongoLease(stack.database, "microblog-projector"),
        name,
        lease_seconds=LEASE,
        renew_seconds=RENEW,
    )
    election.fence = TrackingFence()
    writes = RecordingFence()
    # As in service.py, plus a recorder under the fence: what got past it.
    database = fenced(fenced(stack.database, writes), election.fence)
    return Replica(name, election, Projector(database, stack.settings), writes)


@asynccontextmanager
async def replicas_running(stack: Stack, *names: str) -> AsyncIterator[list[Replica]]:
    started = [replica(stack, name) for name in names]
    for r in started:
        r.task = asyncio.create_task(run_while_leading(r.projector, r.election, r.stop))
    try:
        yield started
    finally:
        for r in started:
            r.stop.set()
        for r in started:
            assert r.task is not None
            await asyncio.wait({r.task}, timeout=10)


async def until(condition: Callable[[], Awaitable[bool]], seconds: float = 10) -> float:
    async with asyncio.timeout(seconds):
        while not await condition():  # noqa: ASYNC110 (polls state other tasks change)
            await asyncio.sleep(0.005)
    return now()


async def one_follows(*replicas: Replica) -> bool:
    return any([await leading(r)() for r in replicas])


def leading(r: Replica) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return r.election.leading and r.projector.status.phase == "following"

    return check


async def test_one_replica_projects_and_a_standby_finishes_the_work_when_it_dies(stack: Stack):
    async with replicas_running(stack, "a", "b") as (a, b):
        await write_a_busy_day(stack)
        await until(lambda: matches_the_specification(stack))
        leader, standby = (a, b) if a.election.leading else (b, a)

        assert standby.writes.sends == [], "the standby wrote nothing"
        assert standby.projector.status.changes_applied == 0
        assert standby.projector.status.phase == "standby"
        assert leader.projector.status.phase == "following"

        await leader.kill()
        killed = now()
        await stack.users["alice"].post("written while nobody projects")
        took_over = await until(leading(standby))
        await until(lambda: matches_the_specification(stack))

        async def standby_applied() -> bool:
            # Counts land with each change now, a moment before the batch closes and is counted.
            return standby.projector.status.changes_applied >= 1

        await until(standby_applied)
        assert took_over - killed <= LEASE + RENEW + SLACK
        assert max(leader.writes.sends) < min(standby.writes.sends)


@asynccontextmanager
async def lease_store_unreachable(r: Replica) -> AsyncIterator[None]:
    async def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError(f"{r.name} cannot reach the lease")

    store: Any = r.election._store
    original = store.write
    store.write = unreachable
    try:
        yield
    finally:
        store.write = original


def paused_across_the_deadline(r: Replica) -> list[float]:
    """While applying a change just before its deadline, the leader's process is paused (GC,
    CPU throttling) until after it, then its handler goes on with a write, before any await
    could let the election cancel it: only the fence stands between that write and the store.
    Returns when the pause happened (empty until it has)."""
    applier = r.projector._applier
    original = applier.apply_with_retries
    paused: list[float] = []

    async def apply(context: ProjectionContext, change: dict[str, Any]) -> None:
        if not paused and now() >= r.fence.deadline - 0.1:
            time.sleep(max(0.0, r.fence.deadline - now()) + 0.05)  # noqa: ASYNC251 (the pause)
            paused.append(now())
            await context.collection("post_views").update_one(
                {"_id": "written after the pause"}, {"$set": {"late": True}}, upsert=True
            )
        await original(context, change)

    applier.apply_with_retries = apply  # type: ignore[method-assign]
    return paused


async def test_a_leader_that_cannot_renew_sends_no_write_after_its_deadline(stack: Stack):
    await write_a_busy_day(stack)
    async with replicas_running(stack, "a", "b") as (a, b):
        await until(lambda: matches_the_specification(stack))
        async with steady_writes(stack, "steady"):
            await asyncio.sleep(2 * RENEW)  # the leader applies changes all the time now
            await until(lambda: one_follows(a, b))  # whoever leads now
            leader, standby = (a, b) if a.election.leading else (b, a)
            busy_since = len(leader.writes.sends)

            paused = paused_across_the_deadline(leader)
            async with lease_store_unreachable(leader):
                await until(leading(standby))
            final_deadline = leader.fence.deadlines[-1]

            assert paused, "the leader was applying changes near its deadline"
            assert len(leader.writes.sends) > busy_since, "the leader was writing until the end"
            assert max(leader.writes.sends) < final_deadline, "a write got past the deadline"
            # A standby starts a full lease after the last renewal, the leader stops RENEW
            # before it.
            assert min(standby.writes.sends) - final_deadline >= RENEW / 2

            async def stood_down() -> bool:
                return leader.projector.status.phase == "standby"

            await until(stood_down)
        # The writes have stopped; the new leader, still running, projects the last of them
        # (a loaded machine may need a while), and the late write never landed.
        await until(lambda: matches_the_specification(stack), seconds=60)


async def test_health_of_a_leader_and_a_standby():
    settings = make_settings(
        projector_leader_election="mongodb",
        projector_lease_seconds=LEASE,
        projector_lease_renew_seconds=RENEW,
    )
    connection = connect_embedded(settings)
    apps = [
        create_projector_app(settings.model_copy(update={"pod_name": name}), connection)
        for name in ("a", "b")
    ]
    async with AsyncExitStack() as running:
        for app in apps:
            await running.enter_async_context(app.router.lifespan_context(app))
        clients = [await running.enter_async_context(asgi_client(app)) for app in apps]

        async def one_follows() -> bool:
            phases = {app.state.projector.status.phase for app in apps}
            seen = [app.state.election.observed for app in apps]
            return phases == {"following", "standby"} and all(r and r.holder for r in seen)

        await until(one_follows)
        answers = [(await c.get("/healthz"), await c.get("/readyz")) for c in clients]

        assert all(h.status_code == r.status_code == 200 for h, r in answers)
        roles = sorted(h.json()["role"] for h, _ in answers)
        assert roles == ["leader", "standby"]
        holders = {h.json()["holder"] for h, _ in answers}
        assert len(holders) == 1
        assert holders <= {"a", "b"}
        assert {r.json()["role"] for _, r in answers} == {"leader", "standby"}
