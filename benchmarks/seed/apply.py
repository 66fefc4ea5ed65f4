"""Write a plan to a target: users, then the follows, then the activity, a bounded number at once.

Operations start in plan order and at most `concurrency` run together (`sign_up_concurrency`
for sign-ups, which cost an Argon2 hash each through the API). A reply, like or repost waits for
the post it refers to, which always started earlier, so the window cannot deadlock. The last
operation runs alone after all the others, so a target can tell when everything is projected by
waiting for that one write. The first failure cancels the rest and is raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from benchmarks.seed.graph import Follow, Operation, Plan, Post
from benchmarks.seed.targets import Account, Target

T = TypeVar("T")


class Reporter(Protocol):
    def phase(self, name: str, total: int) -> None: ...

    def advance(self) -> None: ...


class Silent:
    def phase(self, name: str, total: int) -> None:
        pass

    def advance(self) -> None:
        pass


@dataclass
class Seeded:
    """What was written: each planned user's account and each planned post's id, by index."""

    accounts: list[Account]
    post_ids: list[str]


async def _bounded(
    items: Iterable[T], work: Callable[[T], Awaitable[None]], limit: int, reporter: Reporter
) -> None:
    slots = asyncio.Semaphore(limit)

    async def run(item: T) -> None:
        try:
            await work(item)
        finally:
            slots.release()
        reporter.advance()

    async with asyncio.TaskGroup() as group:
        for item in items:
            await slots.acquire()
            group.create_task(run(item))


async def apply_plan(
    plan: Plan,
    target: Target,
    *,
    concurrency: int = 8,
    sign_up_concurrency: int = 4,
    reporter: Reporter | None = None,
) -> Seeded:
    report = reporter or Silent()
    accounts: list[Account | None] = [None] * len(plan.users)

    async def sign_up(index: int) -> None:
        user = plan.users[index]
        accounts[index] = await target.sign_up(user.handle, user.display_name, user.bio)

    report.phase("users", len(plan.users))
    await _bounded(range(len(plan.users)), sign_up, sign_up_concurrency, report)
    signed_up = [account for account in accounts if account is not None]

    async def follow(edge: Follow) -> None:
        await target.follow(signed_up[edge.follower], plan.users[edge.followee].handle)

    report.phase("follows", len(plan.follows))
    await _bounded(plan.follows, follow, concurrency, report)

    loop = asyncio.get_running_loop()
    post_ids: dict[int, asyncio.Future[str]] = {}

    async def act(operation: Operation) -> None:
        if isinstance(operation, Follow):
            await follow(operation)
        elif isinstance(operation, Post):
            reply_to = (
                await post_ids[operation.reply_to] if operation.reply_to is not None else None
            )
            author = signed_up[operation.author]
            post_ids[operation.index].set_result(
                await target.post(author, operation.text, reply_to)
            )
        else:
            await target.react(
                operation.kind, signed_up[operation.user], await post_ids[operation.post]
            )

    def in_order() -> Iterable[Operation]:
        for operation in plan.activity:
            if isinstance(operation, Post):  # before it starts, so later operations can wait on it
                post_ids[operation.index] = loop.create_future()
            yield operation

    report.phase("posts, replies, likes, reposts", len(plan.activity))
    operations = list(in_order())
    await _bounded(operations[:-1], act, concurrency, report)
    if operations:  # alone, after every other write: once it is projected, everything is
        await act(operations[-1])
        report.advance()
    return Seeded(signed_up, [post_ids[index].result() for index in sorted(post_ids)])
