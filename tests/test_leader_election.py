"""Leader election: one leader at a time, quick takeover, and a leader that stops before another
starts. The same tests run on both lease stores: the MongoDB document (on the test store) and the
Kubernetes `Lease` (through a stand-in for the official client's `CoordinationV1Api`)."""

import asyncio
import copy
import itertools
import math
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from query_service.projector.leadership import (
    PROJECTOR_LEASES,
    Fence,
    KubernetesLease,
    LeaderElection,
    LeadershipLost,
    LeaseStore,
    MongoLease,
    fenced,
)
from query_service.projector.leadership.election import now
from tests.support import make_settings, store

LEASE, RENEW = 0.6, 0.2
# Scheduling slack for assertions on elapsed time (the suite runs on 2 cores).
SLACK = 0.25


class FakeCoordinationApi:
    """The three calls of `kubernetes.client.CoordinationV1Api` the lease uses, with the API
    server's optimistic concurrency: every write bumps `resourceVersion`; a replace that carries
    another one, or a create of an existing Lease, is 409 Conflict."""

    def __init__(self) -> None:
        self.leases: dict[tuple[str, str], client.V1Lease] = {}
        self.calls: list[str] = []
        self._version = 0
        self._lock = threading.Lock()  # the client runs in threads

    def read_namespaced_lease(self, name: str, namespace: str, **_: Any) -> client.V1Lease:
        with self._lock:
            self.calls.append("read")
            if (namespace, name) not in self.leases:
                raise ApiException(status=404, reason="Not Found")
            return copy.deepcopy(self.leases[namespace, name])

    def create_namespaced_lease(
        self, namespace: str, body: client.V1Lease, **_: Any
    ) -> client.V1Lease:
        with self._lock:
            self.calls.append("create")
            if (namespace, body.metadata.name) in self.leases:
                raise ApiException(status=409, reason="AlreadyExists")
            return self._store(namespace, body)

    def replace_namespaced_lease(
        self, name: str, namespace: str, body: client.V1Lease, **_: Any
    ) -> client.V1Lease:
        with self._lock:
            self.calls.append("replace")
            current = self.leases.get((namespace, name))
            if current is None:
                raise ApiException(status=404, reason="Not Found")
            if body.metadata.resource_version != current.metadata.resource_version:
                raise ApiException(status=409, reason="Conflict")
            return self._store(namespace, body)

    def _store(self, namespace: str, body: client.V1Lease) -> client.V1Lease:
        self._version += 1
        stored = copy.deepcopy(body)
        stored.metadata.resource_version = str(self._version)
        stored.metadata.namespace = namespace
        self.leases[namespace, body.metadata.name] = stored
        return copy.deepcopy(stored)


StoreFactory = Callable[[], LeaseStore]


@pytest.fixture(params=["mongodb", "kubernetes"])
async def lease_stores(request: pytest.FixtureRequest) -> AsyncIterator[StoreFactory]:
    """Makes one store per candidate, all on the same lease."""
    if request.param == "kubernetes":
        api = FakeCoordinationApi()
        yield lambda: KubernetesLease(api, "microblog", "microblog-projector")
        return
    async with store(make_settings()) as (_, connection):
        yield lambda: MongoLease(connection.database, "microblog-projector")


def takeover_bound(stores: StoreFactory) -> float:
    """A standby waits the lease out (the Kubernetes record holds whole seconds), then at most one
    attempt interval more."""
    wait = math.ceil(LEASE) if isinstance(stores(), KubernetesLease) else LEASE
    return wait + RENEW + SLACK


@dataclass
class Candidate:
    election: LeaderElection
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    terms: list[tuple[float, float | None]] = field(default_factory=list)  # (start, end)

    @property
    def leading_now(self) -> bool:
        return bool(self.terms) and self.terms[-1][1] is None

    async def work(self, resign: asyncio.Event) -> None:
        self.terms.append((now(), None))
        try:
            await resign.wait()
        finally:
            self.terms[-1] = (self.terms[-1][0], now())

    def start(self) -> "Candidate":
        self.task = asyncio.create_task(self.election.run(self.work, self.stop))
        return self

    async def kill(self) -> None:
        """Dies without a word: no release, the lease is left to expire."""
        assert self.task is not None
        self.task.cancel()
        await asyncio.wait({self.task})

    async def shut_down(self) -> None:
        assert self.task is not None
        self.stop.set()
        await asyncio.wait_for(self.task, 5)


def candidate(stores: StoreFactory, identity: str) -> Candidate:
    return Candidate(LeaderElection(stores(), identity, lease_seconds=LEASE, renew_seconds=RENEW))


async def until(condition: Callable[[], bool], seconds: float = 5) -> float:
    """Waits for `condition`; returns when it became true."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 (polls state other tasks change)
            await asyncio.sleep(0.002)
    return now()


def never_overlap(*candidates: Candidate) -> None:
    terms = sorted(term for c in candidates for term in c.terms)
    for (_, end), (next_start, _) in itertools.pairwise(terms):
        assert end is not None
        assert end <= next_start, "two leaders at once"


async def test_of_two_candidates_exactly_one_leads_and_keeps_leading(lease_stores):
    a, b = candidate(lease_stores, "a").start(), candidate(lease_stores, "b").start()
    await until(lambda: a.leading_now or b.leading_now)
    await asyncio.sleep(3 * LEASE)  # several renewals

    leaders = [c for c in (a, b) if c.leading_now]
    assert len(leaders) == 1
    assert len(leaders[0].terms) == 1, "the leader kept its lease through its renewals"
    assert [c for c in (a, b) if c.terms] == leaders, "the standby never led"
    for c in (a, b):
        await c.shut_down()
    never_overlap(a, b)


async def test_a_standby_takes_over_within_the_lease_after_the_leader_dies(lease_stores):
    a = candidate(lease_stores, "a").start()
    await until(lambda: a.leading_now)
    b = candidate(lease_stores, "b").start()
    await asyncio.sleep(2 * RENEW)  # b has seen a renew

    await a.kill()
    killed = now()
    took_over = await until(lambda: b.leading_now)

    assert took_over - killed <= takeover_bound(lease_stores)
    assert b.election.observed is not None
    assert b.election.observed.transitions == 1
    await b.shut_down()


async def test_a_graceful_leader_releases_and_the_standby_takes_over_at_once(lease_stores):
    a = candidate(lease_stores, "a").start()
    await until(lambda: a.leading_now)
    b = candidate(lease_stores, "b").start()
    await asyncio.sleep(2 * RENEW)

    await a.shut_down()
    released = now()
    took_over = await until(lambda: b.leading_now)

    assert took_over - released <= RENEW + SLACK < LEASE  # not waiting the lease out
    never_overlap(a, b)
    await b.shut_down()


async def test_of_candidates_racing_for_an_empty_lease_exactly_one_wins(lease_stores):
    # On the interleaving store every read happens before any write: all see no lease at all.
    racers = [candidate(lease_stores, f"racer-{n}").start() for n in range(5)]
    await until(lambda: any(r.leading_now for r in racers))
    await asyncio.sleep(2 * RENEW)

    assert sum(r.leading_now for r in racers) == 1
    assert sum(len(r.terms) for r in racers) == 1
    for r in racers:
        await r.shut_down()


async def test_a_leader_whose_renewals_fail_stops_before_anyone_may_take_over(
    lease_stores, monkeypatch
):
    a = candidate(lease_stores, "a").start()
    await until(lambda: a.leading_now)
    b = candidate(lease_stores, "b").start()
    await asyncio.sleep(2 * RENEW)

    async def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("the lease store does not answer a")

    monkeypatch.setattr(a.election._store, "write", unreachable)
    failing_since = now()
    took_over = await until(lambda: b.leading_now, seconds=10)

    ((_, a_stopped),) = a.terms
    assert a_stopped is not None
    # a stopped by its deadline (last renewal + LEASE - RENEW), so at least RENEW before b began.
    assert a_stopped - failing_since <= LEASE - RENEW + SLACK
    assert took_over - a_stopped >= RENEW * 0.9
    assert not a.election.leading
    never_overlap(a, b)
    await a.kill()
    await b.shut_down()


async def test_a_lease_taken_meanwhile_makes_the_leader_stand_down_at_its_next_renewal(
    lease_stores,
):
    a = candidate(lease_stores, "a").start()
    await until(lambda: a.leading_now)
    # Someone overwrites the record (an operator, or a candidate that misread it).
    intruder = lease_stores()
    current = await intruder.read()
    assert current is not None
    await intruder.write(current, replace(current, holder="intruder"))

    stood_down = await until(lambda: not a.leading_now)
    assert stood_down - a.terms[0][0] <= LEASE
    assert not a.election.leading
    await a.shut_down()


@pytest.mark.embedded_only  # reads the document's layout
async def test_the_mongodb_lease_document_says_who_leads():
    async with store(make_settings()) as (_, connection):
        stores = lambda: MongoLease(connection.database, "microblog-projector")  # noqa: E731
        a = candidate(stores, "a").start()
        await until(lambda: a.leading_now)
        document = await connection.database[PROJECTOR_LEASES].find_one({})
        assert document is not None
        assert document["_id"] == "microblog-projector"
        assert (document["holder"], document["duration_s"], document["transitions"]) == (
            "a",
            LEASE,
            0,
        )
        await a.shut_down()
        released = await connection.database[PROJECTOR_LEASES].find_one({})
        assert released is not None
        assert released["holder"] is None


def test_the_renew_interval_must_leave_a_retry_before_the_deadline():
    with pytest.raises(ValueError, match="half"):
        LeaderElection(MongoLease.__new__(MongoLease), "x", lease_seconds=1, renew_seconds=0.5)


async def test_a_fenced_database_sends_no_write_once_the_deadline_has_passed():
    async with store(make_settings()) as (_, connection):
        fence = Fence()
        database = fenced(connection.database, fence)
        fence.open_until(now() + 60)
        await database["post_views"].insert_one({"_id": "written while leading"})
        await database.get_collection("post_views").update_one(
            {"_id": "written while leading"}, {"$set": {"n": 1}}
        )

        fence.open_until(now() - 0.001)  # the deadline has just passed
        refused = [
            database["post_views"].insert_one({"_id": "late"}),
            database["post_views"].update_one({}, {"$set": {"n": 2}}),
            database["post_views"].delete_many({}),
            database["post_views"].bulk_write([]),
            database["post_views"].rename("elsewhere"),
            database.drop_collection("post_views"),
        ]
        for attempt in refused:
            with pytest.raises(LeadershipLost):
                await attempt

        # Reads pass; nothing of the refused writes arrived.
        assert await database["post_views"].find({}).to_list(None) == [
            {"_id": "written while leading", "n": 1}
        ]


async def test_work_that_fails_while_leading_releases_the_lease_and_reports_the_error(
    lease_stores,
):
    async def failing(resign: asyncio.Event) -> None:
        raise RuntimeError("the projector loop died")

    election = LeaderElection(lease_stores(), "a", lease_seconds=LEASE, renew_seconds=RENEW)
    with pytest.raises(RuntimeError, match="loop died"):
        await asyncio.wait_for(election.run(failing, asyncio.Event()), 5)

    record = await lease_stores().read()
    assert record is not None
    assert record.holder is None, "released, so a standby takes over at once"


async def test_the_settings_choose_the_lease_store(monkeypatch, tmp_path):
    from kubernetes import config

    from query_service.projector.leadership import kubernetes_lease, leader_election

    async with store(make_settings()) as (_, connection):
        database = connection.database
        assert leader_election(make_settings(), database) is None  # one replica, no election

        mongodb = leader_election(
            make_settings(projector_leader_election="mongodb", pod_name="projector-0"), database
        )
        assert mongodb is not None
        assert isinstance(mongodb._store, MongoLease)
        assert (mongodb.identity, mongodb.lease_seconds, mongodb.renew_seconds) == (
            "projector-0",
            15.0,
            5.0,
        )

        loaded: list[str] = []
        monkeypatch.setattr(config, "load_incluster_config", lambda: loaded.append("in-cluster"))
        namespace_file = tmp_path / "namespace"
        namespace_file.write_text("microblog-prod\n")
        monkeypatch.setattr(kubernetes_lease, "SERVICE_ACCOUNT_NAMESPACE", namespace_file)
        in_cluster = leader_election(
            make_settings(projector_leader_election="kubernetes", pod_name="projector-1"), database
        )
        assert in_cluster is not None
        lease = in_cluster._store
        assert isinstance(lease, KubernetesLease)
        assert loaded == ["in-cluster"]
        assert (lease.namespace, lease.name) == ("microblog-prod", "microblog-projector")
        assert isinstance(lease._api, client.CoordinationV1Api)
