"""The embedded stack of `make run`, seeded in-process before it serves: what `make bench` measures.

    python -m benchmarks.stack --posts N [--users U] [--seed S] --info FILE

Seeding through the API would cost more than the benchmark's whole budget at 100k posts (an
HTTP request, a rate-limit counter and a consistency token per write), so this process writes the
plan into its own embedded store through the command use cases (`WriteModelTarget`), the same
writes the API makes, before the projector starts. The projector then starts as on any store with
data and no checkpoint: it rebuilds the read models from the write model, and `/readyz` answers
200 once it follows the change stream. Everything else is `python -m gateway` (settings from the
environment, GATEWAY_PORT on BIND_HOST), except FANOUT_MAX_FOLLOWERS: with `--large-accounts K` it
is set to the followers of the K-th most followed account, so the K largest take the
merged-on-read path whatever the size.

FILE receives, as JSON, what the benchmark needs to know of the graph: sizes, shape, how long the
seeding took, the handles to read as and the posts to read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import uvicorn

from benchmarks.mixed import readers_of
from benchmarks.seed.apply import Seeded, apply_plan
from benchmarks.seed.graph import Plan, Sizes, generate, plan_threshold
from benchmarks.seed.targets import WriteModelTarget
from command_service.write_model.indexes import ensure_write_model_indexes
from gateway.embedded import create_embedded_stack
from service_kit.mongo.connection import connect_embedded
from service_kit.serve import configure_process
from service_kit.settings import Settings, get_settings

log = logging.getLogger("benchmarks.stack")
PROBE_AUTHORS = 10  # accounts whose posts the projector measurement follows


class ProgressLog:
    """A line every 10% of a phase, on the log (the benchmark shows it)."""

    def __init__(self) -> None:
        self._name, self._total, self._done, self._started = "", 0, 0, 0.0

    def phase(self, name: str, total: int) -> None:
        self._name, self._total, self._done, self._started = name, total, 0, time.monotonic()

    def advance(self) -> None:
        self._done += 1
        step = max(1, self._total // 10)
        if self._done % step == 0 or self._done == self._total:
            rate = self._done / max(1e-9, time.monotonic() - self._started)
            log.warning("seeding %s: %d/%d (%.0f/s)", self._name, self._done, self._total, rate)


def graph_facts(plan: Plan, seeded: Seeded) -> dict[str, Any]:
    """Whom to read as and what to read: chosen from the plan, so every run picks the same."""
    counts = plan.expected_counts()
    by_followers = plan.most_followed(len(plan.users))
    largest = by_followers[0]
    posts_by_largest = [post for post in plan.posts if post.author == largest]
    post = (posts_by_largest or plan.posts)[-1] if plan.posts else None
    # The timeline reader follows more accounts than 90% of users do: a well-filled timeline.
    by_following = sorted(range(len(plan.users)), key=lambda u: (counts.following[u], u))
    timeline_reader = by_following[min(len(by_following) - 1, len(by_following) * 9 // 10)]
    # Ordinary authors: the accounts whose follower counts are closest to 50.
    ordinary = sorted(
        (u for u in range(len(plan.users)) if u not in by_followers[: plan.sizes.large_accounts]),
        key=lambda u: (abs(counts.followers[u] - 50), u),
    )[:PROBE_AUTHORS]

    def handle(index: int) -> str:
        return plan.users[index].handle

    return {
        "most_followed": handle(largest),
        "most_followed_followers": counts.followers[largest],
        "post_id": seeded.post_ids[post.index] if post else None,
        "timeline_reader": handle(timeline_reader),
        "timeline_reader_following": counts.following[timeline_reader],
        "readers": readers_of(plan.users),
        "probe_authors": [handle(u) for u in ordinary],
        "probe_author_followers": [counts.followers[u] for u in ordinary],
        "search": "python",
    }


def write_info(path: str, info: dict[str, Any]) -> None:
    """In one step (write, then rename), so the benchmark never reads half a file."""
    partial = Path(path + ".partial")
    partial.write_text(json.dumps(info))
    partial.rename(path)


async def seed_and_serve(arguments: argparse.Namespace, settings: Settings) -> None:
    sizes = Sizes(
        users=arguments.users,
        posts=arguments.posts,
        large_accounts=arguments.large_accounts,
        fanout_max_followers=settings.fanout_max_followers,
    )
    planned_at = time.monotonic()
    plan = generate(sizes, arguments.seed)
    if arguments.large_accounts:
        threshold = plan_threshold(plan, arguments.large_accounts)
        settings = settings.model_copy(update={"fanout_max_followers": threshold})
    connection = connect_embedded(settings)
    await ensure_write_model_indexes(connection.database)
    target = await WriteModelTarget.for_settings(connection, settings)
    started = time.monotonic()
    info: dict[str, Any] = {
        "users": sizes.users,
        "posts": sizes.posts,
        "seed": arguments.seed,
        "fanout_max_followers": settings.fanout_max_followers,
        "shape": plan.shape() | {"large_accounts": arguments.large_accounts},
        "operations": plan.operations,
        "plan_seconds": round(started - planned_at, 2),
    }
    try:
        async with asyncio.timeout(arguments.seed_timeout):
            seeded = await apply_plan(plan, target, reporter=ProgressLog())
    except TimeoutError:
        info |= {"status": "seed-timeout", "seed_timeout_seconds": arguments.seed_timeout}
        write_info(arguments.info, info)
        raise SystemExit(3) from None
    seconds = time.monotonic() - started
    info |= {
        "status": "seeded",
        "seed_seconds": round(seconds, 2),
        "seed_operations_per_second": round(plan.operations / seconds, 1),
        "seeded_at": time.time(),
    } | graph_facts(plan, seeded)
    write_info(arguments.info, info)
    app = create_embedded_stack(settings, connection)
    config = uvicorn.Config(
        app,
        host=settings.bind_host,
        port=settings.gateway_port,
        log_config=None,
        access_log=False,  # each request's one line comes from service_kit.observability
        proxy_headers=False,
    )
    await uvicorn.Server(config).serve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, required=True)
    parser.add_argument("--users", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--large-accounts", type=int, default=3)
    parser.add_argument("--seed-timeout", type=float, default=600.0)
    parser.add_argument("--info", required=True, help="where to write the graph's facts (JSON)")
    arguments = parser.parse_args()
    arguments.users = arguments.users or max(10, arguments.posts // 10)
    settings = get_settings()
    if not settings.embedded:
        raise SystemExit("benchmarks.stack runs the embedded store: unset MONGODB_URI")
    configure_process(settings, "gateway")
    log.warning(
        "benchmark stack: pid %d, %d posts, %d users", os.getpid(), arguments.posts, arguments.users
    )
    asyncio.run(seed_and_serve(arguments, settings))


if __name__ == "__main__":
    main()
