"""`make seed`: fill a running stack with a demo graph, deterministic from --seed.

    python -m benchmarks.seed [--posts 1000] [--users N] [--seed 1] [--base-url URL]

Without MONGODB_URI it writes through the HTTP API of the stack at --base-url (BASE_URL, default
http://127.0.0.1:8080: `make run`, whose embedded stack relaxes the rate limits for this). With
MONGODB_URI set it writes the write model of that database directly through the command use cases
(no HTTP, no rate limits), and the stack's projector builds the read models as for any write.
`--via` chooses explicitly. It ends when the projector has applied the last write.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from benchmarks.seed.apply import apply_plan
from benchmarks.seed.graph import Plan, Sizes, generate
from benchmarks.seed.targets import (
    DEMO_PASSWORD,
    ApiTarget,
    SeedingStopped,
    Target,
    WriteModelTarget,
)
from service_kit.mongo.connection import connect
from service_kit.settings import get_settings

console = Console(stderr=True)


class RichReporter:
    """One progress bar per phase."""

    def __init__(self, progress: Progress, target: Target) -> None:
        self._progress = progress
        self._target = target
        self._task: Any = None

    def phase(self, name: str, total: int) -> None:
        self._task = self._progress.add_task(name, total=total, waits=0)

    def advance(self) -> None:
        self._progress.update(self._task, advance=1, waits=self._target.waits)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1000, help="posts and replies (1000)")
    parser.add_argument("--users", type=int, help="accounts (default: posts / 10, at least 10)")
    parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same graph")
    parser.add_argument("--follows-per-user", type=float, default=20.0)
    parser.add_argument("--likes-per-post", type=float, default=2.0)
    parser.add_argument("--reposts-per-post", type=float, default=0.1)
    parser.add_argument("--large-accounts", type=int, default=3)
    parser.add_argument(
        "--via",
        choices=("api", "write-model"),
        default="write-model" if os.environ.get("MONGODB_URI") else "api",
        help="api: HTTP to --base-url; write-model: the use cases on MONGODB_URI",
    )
    parser.add_argument("--base-url", default=os.environ.get("BASE_URL") or "http://127.0.0.1:8080")
    parser.add_argument("--concurrency", type=int, default=8, help="writes in flight (8)")
    parser.add_argument("--projection-timeout", type=float, default=600.0)
    arguments = parser.parse_args(argv)
    if arguments.users is None:
        arguments.users = max(10, arguments.posts // 10)
    if not 2 <= arguments.users <= 1_000_000 or not 0 <= arguments.posts <= 10_000_000:
        parser.error("--users is 2 to 1,000,000 and --posts 0 to 10,000,000")
    if not 1 <= arguments.concurrency <= 256:
        parser.error("--concurrency is 1 to 256")
    return arguments


def sizes_of(arguments: argparse.Namespace) -> Sizes:
    return Sizes(
        users=arguments.users,
        posts=arguments.posts,
        follows_per_user=arguments.follows_per_user,
        likes_per_post=arguments.likes_per_post,
        reposts_per_post=arguments.reposts_per_post,
        large_accounts=arguments.large_accounts,
        fanout_max_followers=get_settings().fanout_max_followers,
    )


@asynccontextmanager
async def open_target(arguments: argparse.Namespace) -> AsyncIterator[Target]:
    if arguments.via == "api":
        limits = httpx.Limits(max_connections=arguments.concurrency + 4)
        timeout = httpx.Timeout(60.0)
        async with httpx.AsyncClient(
            base_url=arguments.base_url, limits=limits, timeout=timeout
        ) as client:
            try:
                await client.get("/healthz")
            except httpx.TransportError:
                raise SeedingStopped(
                    f"no stack answers at {arguments.base_url}: start one with `make run`"
                ) from None
            yield ApiTarget(client)
        return
    settings = get_settings()
    if settings.embedded:
        raise SeedingStopped(
            "--via write-model needs MONGODB_URI: the embedded store lives inside the `make run` "
            "process, so seed it through its API (--via api)"
        )
    connection = connect(settings)
    try:
        yield await WriteModelTarget.for_settings(connection, settings)
    finally:
        await connection.close()


async def seed(arguments: argparse.Namespace, plan: Plan) -> None:
    where = arguments.base_url if arguments.via == "api" else "the write model on MONGODB_URI"
    console.print(
        f"Seeding {len(plan.users)} users, {len(plan.all_follows)} follows, "
        f"{len(plan.posts)} posts, {len(plan.reactions('like'))} likes and "
        f"{len(plan.reactions('repost'))} reposts (seed {plan.seed}) into {where}"
    )
    columns = (
        TextColumn("{task.description:<32}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[waits]} rate-limit waits"),
    )
    started = time.monotonic()
    async with open_target(arguments) as target:
        with Progress(*columns, console=console) as progress:
            await apply_plan(
                plan,
                target,
                concurrency=arguments.concurrency,
                reporter=RichReporter(progress, target),
            )
        written = time.monotonic() - started
        with console.status("waiting for the projector to apply the last write"):
            projected = await target.wait_projected(arguments.projection_timeout)
    total = time.monotonic() - started
    console.print(
        f"{plan.operations} writes in {written:.1f} s ({plan.operations / written:.0f}/s); "
        + (
            f"projected after {total:.1f} s."
            if projected
            else f"the projector had not caught up after {total:.1f} s (it goes on)."
        )
    )


def summary(plan: Plan) -> None:
    shape = plan.shape()
    top = plan.users[plan.most_followed(1)[0]]
    followers = plan.expected_counts().followers
    console.print(
        f"Followers: max {shape['max_followers']}, median {shape['median_followers']}, "
        f"the top 1% hold {shape['top_1pct_follower_share']:.0%} of all follows; "
        f"{shape['replies']} replies, {shape['posts_with_hashtags']} posts with hashtags, "
        f"{shape['large_accounts']} accounts at or above FANOUT_MAX_FOLLOWERS."
    )
    for note in plan.notes:
        console.print(f"Note: {note}")
    reader = plan.users[0].handle
    console.print(
        f"Every account's password is {DEMO_PASSWORD!r}. Try: the most followed, "
        f"@{top.handle} ({followers[top.index]} followers), or sign in as @{reader} and read "
        "/query/v1/timeline (README: A curl tour)."
    )


def _stopped(error: BaseException) -> SeedingStopped | None:
    """The first SeedingStopped in an error, however deep in task groups."""
    if isinstance(error, SeedingStopped):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            if found := _stopped(inner):
                return found
    return None


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    with console.status("planning the graph"):
        plan = generate(sizes_of(arguments), arguments.seed)
    try:
        asyncio.run(seed(arguments, plan))
    except (SeedingStopped, ExceptionGroup) as error:
        stopped = _stopped(error)
        if stopped is None:
            raise
        console.print(f"[red]Seeding stopped:[/red] {stopped}")
        return 1
    summary(plan)
    return 0


if __name__ == "__main__":
    sys.exit(main())
