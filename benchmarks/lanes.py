"""Throughput of the projector's lanes on the embedded store: one large fan-out among small changes.

One batch holds a post by an account with `--followers` followers (edges seeded into the read
model, so the fan-out is ceil((followers + 1) / 1000) bulk writes) followed by `--small` posts of
other accounts. A fresh projector applies it with PROJECTOR_CONCURRENCY 1 and then `--concurrency`,
each on a fresh store; the figures are changes applied per second over the batch, and how long
until the last small change was applied. `--round-trip-ms` makes every collection call that is a
round trip (cursor reads excepted) wait that long first, as a network would; 0 measures the
embedded store's CPU alone, where concurrency can only interleave, not overlap.

    uv run --frozen --extra embedded python -m benchmarks.lanes --followers 20000 --small 150
"""

import argparse
import asyncio
import logging
import platform
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from command_service.commands.posts import create_post
from query_service.read_models.names import FOLLOW_EDGES, POST_VIEWS
from service_kit.clock import utc_now
from service_kit.mongo.embedded.store import EmbeddedCollection
from service_kit.tokens import Principal
from tests.support import make_settings, running_stack

ROUND_TRIPS = (
    "find_one",
    "count_documents",
    "insert_one",
    "update_one",
    "update_many",
    "delete_one",
    "delete_many",
    "find_one_and_update",
    "find_one_and_delete",
    "bulk_write",
)


@contextmanager
def network(round_trip_ms: float) -> Iterator[None]:
    """Every round trip waits `round_trip_ms` before the store runs it."""
    if round_trip_ms <= 0:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        for name in ROUND_TRIPS:
            original = getattr(EmbeddedCollection, name)

            async def delayed(self: Any, *args: Any, _original: Any = original, **kw: Any) -> Any:
                await asyncio.sleep(round_trip_ms / 1000)
                return await _original(self, *args, **kw)

            patch.setattr(EmbeddedCollection, name, delayed)
        yield


async def one_run(concurrency: int, followers: int, small: int, round_trip_ms: float) -> dict:
    settings = make_settings(
        rate_limits_enabled=False,
        projector_concurrency=concurrency,
        projector_batch_size=min(1000, small + 1),
        projector_max_await_ms=5000,  # the whole batch is read before it closes
        log_level="WARNING",
    )
    async with running_stack(settings) as stack:
        star = await stack.sign_up("star")
        others = [await stack.sign_up(f"user{n}") for n in range(10)]
        await stack.settle()
        await stack.read_database[FOLLOW_EDGES].insert_many(
            {
                "_id": f"fan{n}:{star.id}",
                "follower_id": f"fan{n}",
                "followee_id": star.id,
                "followee_post_seq": 0,
                "created_at": utc_now(),
            }
            for n in range(followers)
        )
        await create_post(
            stack.database, Principal(star.id, star.handle), text="big", reply_to=None
        )
        small_ids = []
        for n in range(small):
            author = others[n % len(others)]
            created = await create_post(
                stack.database, Principal(author.id, author.handle), text="small", reply_to=None
            )
            small_ids.append(str(created["_id"]))

        last_small: list[float] = []

        async def watch(started: float) -> None:
            views = stack.read_database[POST_VIEWS]
            while await views.count_documents({"_id": {"$in": small_ids}}) < small:  # noqa: ASYNC110
                await asyncio.sleep(0.002)
            last_small.append(time.monotonic() - started)

        with network(round_trip_ms):
            started = time.monotonic()
            watcher = asyncio.create_task(watch(started))
            applied = await stack.new_projector(settings).catch_up(max_batches=1)
            elapsed = time.monotonic() - started
            await watcher
        return {
            "concurrency": concurrency,
            "applied": applied,
            "seconds": elapsed,
            "changes_per_second": applied / elapsed,
            "last_small_seconds": last_small[0],
        }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=20_000)
    parser.add_argument("--small", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--round-trip-ms", type=float, default=0.0)
    options = parser.parse_args()
    logging.disable(logging.WARNING)
    print(
        f"python {platform.python_version()}, {options.followers} followers, "
        f"{options.small} small changes, round trip {options.round_trip_ms} ms"
    )
    print("| concurrency | changes applied | batch s | changes/s | last small change applied, s |")
    print("|---:|---:|---:|---:|---:|")
    for concurrency in (1, options.concurrency):
        run = await one_run(concurrency, options.followers, options.small, options.round_trip_ms)
        print(
            f"| {run['concurrency']} | {run['applied']} | {run['seconds']:.2f} | "
            f"{run['changes_per_second']:.0f} | {run['last_small_seconds']:.2f} |"
        )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
