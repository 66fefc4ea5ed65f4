"""Failover time of the projector with the MongoDB lease, on the embedded store.

Each trial starts two projector replicas on a fresh store, waits until one follows the stream and
the other has seen its renewals, kills the leader without a word (no release) at a random point of
its renew interval, writes a post, and times how long until the standby has applied it: from the
kill to the first change the new leader applied. Trials run concurrently in one event loop.

    uv run --frozen --extra embedded python -m benchmarks.takeover --trials 20 --lease 15 --renew 5
"""

import argparse
import asyncio
import logging
import platform
import random
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass

from query_service.projector.leadership import LeaderElection, MongoLease, fenced
from query_service.projector.leadership.election import now
from query_service.projector.runner import Projector, run_while_leading
from tests.support import Stack, make_settings, running_stack


@dataclass
class Replica:
    election: LeaderElection
    projector: Projector
    task: asyncio.Task[None]


def start(stack: Stack, name: str, lease: float, renew: float) -> Replica:
    election = LeaderElection(
        MongoLease(stack.database, "microblog-projector"),
        name,
        lease_seconds=lease,
        renew_seconds=renew,
    )
    projector = Projector(fenced(stack.database, election.fence), stack.settings)
    task = asyncio.create_task(run_while_leading(projector, election, asyncio.Event()))
    return Replica(election, projector, task)


async def wait_for(condition: Callable[[], bool], seconds: float) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 (polls state other tasks change)
            await asyncio.sleep(0.001)


async def trial(lease: float, renew: float) -> tuple[float, float]:
    """(kill to the standby leading, kill to its first applied change), in seconds."""
    async with running_stack(make_settings()) as stack:
        author = await stack.sign_up("author")
        replicas = [start(stack, name, lease, renew) for name in ("a", "b")]

        def one_follows() -> bool:
            return any(r.projector.status.phase == "following" for r in replicas)

        await wait_for(one_follows, 10 * lease)
        leader, standby = replicas if replicas[0].election.leading else replicas[::-1]
        await asyncio.sleep(2 * renew + random.uniform(0, renew))  # noqa: S311 (a random phase)

        leader.task.cancel()  # dies: no release, the lease is left to expire
        killed = now()
        await author.post("written right after the leader died")
        await wait_for(lambda: standby.election.leading, 10 * lease)
        leading = now()
        await wait_for(lambda: standby.projector.status.changes_applied > 0, 10 * lease)
        applied = now()
        standby.task.cancel()
        await asyncio.wait([r.task for r in replicas])
        return leading - killed, applied - killed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--lease", type=float, default=15.0, help="PROJECTOR_LEASE_SECONDS")
    parser.add_argument("--renew", type=float, default=5.0, help="PROJECTOR_LEASE_RENEW_SECONDS")
    parser.add_argument("--parallel", type=int, default=10, help="trials at once")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the election's takeover warnings, 2 per trial
    gate = asyncio.Semaphore(args.parallel)

    async def gated() -> tuple[float, float]:
        async with gate:
            return await trial(args.lease, args.renew)

    results = await asyncio.gather(*(gated() for _ in range(args.trials)))
    print(f"python {platform.python_version()}, {args.trials} trials, {args.parallel} at once")
    print(f"lease {args.lease:g} s, renew every {args.renew:g} s")
    for label, values in (
        ("kill -> standby leads", [lead for lead, _ in results]),
        ("kill -> first change applied", [applied for _, applied in results]),
    ):
        print(
            f"{label:30} min {min(values):6.2f} s  median {statistics.median(values):6.2f} s"
            f"  max {max(values):6.2f} s"
        )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
