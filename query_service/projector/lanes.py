"""Applying a batch's independent changes concurrently, and dependent ones in stream order.

Every change has *scopes*: the accounts and posts whose read-model state it reads or writes in a
way that another change of the same scope could not be reordered with. A change starts once every
earlier change of the batch that shares a scope with it has been applied (each scope is a lane; a
change with several scopes joins all their lanes), and once one of `PROJECTOR_CONCURRENCY` slots
is free. Changes that share no scope run concurrently, so a post by an account with many
followers no longer holds up the others while its bulk writes go on.

The scopes (`scopes_of`):

- a **users** change of U: {U}. U's post views embed U's name: a rename and U's posts, which read
  that name, stay in order.
- a **post** P by A: {A, post P}, and for a reply to Q also {post Q}. A's lane orders P with A's
  renames, with follows of A (a follow's backfill reads A's post views, a delivery reads A's
  followers, an unfollow removes A's entries from a timeline while a delivery may be adding one),
  and with A's other posts. Post P's own lane orders P's insert and delete before and after the
  replies that count into its `reply_count`, so the view they count into exists when they come
  (`read_models/counters.py`: counts into a document that does not exist count nothing).
- a **follow** of B by A: {B, A}. B for the reasons above; A because the follow counts into A's
  `following_count`, whose document A's own insert creates.
- a **like** or **repost** of P by C: {post P, C} (the post's counters and its delete; C's
  followers and their windows, for a repost's timelines).
- a user's **notification mark**: {the user}.
- a **block** is a *barrier*: it takes each one's posts out of the other's timeline, whoever
  reposted them, and an unblock brings back what reposts of all their followees bring, so it
  is ordered with everything (blocks are rare). So is anything else, or a change that cannot name
  its scopes (a post deleted outright: the event carries only its id): a barrier waits for every
  earlier change of the batch, and every later one waits for it. Events that end the stream are
  handled by the runner before they get here: it waits for the batch so far, then applies them.

Counters are commutative and each update is one atomic single-document operation, so changes in
different lanes may count into the same document in any order. The runner saves the checkpoint
only after `drain()`, when every change of the batch is applied.
"""

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from query_service.projector.metrics import Lag
from query_service.projector.projection import Change
from service_kit.write_model import (
    FOLLOWS,
    LIKES,
    NOTIFICATION_MARKS,
    POSTS,
    REPOSTS,
    USERS,
)

Scopes = frozenset[str]


def post_scope(post_id: Any) -> str:
    return f"post:{post_id}"


def scopes_of(change: Change) -> Scopes | None:
    """The scopes of a change, or None for a barrier (also for a document too broken to name
    them: the applier then retries and parks it as it would without lanes)."""
    try:
        return _scopes_of(change)
    except (KeyError, TypeError, AttributeError):
        return None


def _scopes_of(change: Change) -> Scopes | None:
    collection = change.get("ns", {}).get("coll")
    key = change.get("documentKey", {}).get("_id")
    if key is None:
        return None
    if collection == USERS:
        return frozenset({str(key)})
    if collection == POSTS:
        post = change.get("fullDocument")
        if post is None:
            return None
        scopes = {str(post["author_id"]), post_scope(key)}
        if post.get("reply_to"):
            scopes.add(post_scope(post["reply_to"]))
        return frozenset(scopes)
    if collection == FOLLOWS:
        return frozenset({str(key["followee"]), str(key["follower"])})
    if collection in (LIKES, REPOSTS):
        return frozenset({post_scope(key["post"]), str(key["user"])})
    if collection == NOTIFICATION_MARKS:
        return frozenset({str(key)})
    return None


class Lanes:
    """The changes of one batch under way: each waits for the earlier ones it depends on."""

    def __init__(self, concurrency: int) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: list[asyncio.Task[None]] = []
        # The latest change of each scope, and the latest barrier: what a new change waits for.
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._barrier: asyncio.Task[None] | None = None

    @property
    def tasks(self) -> list[asyncio.Task[None]]:
        """The changes of the batch, in stream order (for tests and the crash harness)."""
        return list(self._tasks)

    def submit(self, scopes: Scopes | None, apply: Callable[[], Awaitable[None]]) -> None:
        """Start `apply` once the earlier changes it depends on are applied."""
        if scopes is None:
            # Every earlier change, finished or not: one that failed fails the barrier too, so
            # nothing after it runs on top of a change that was not applied.
            waits = list(self._tasks)
        else:
            waits = [self._tails[scope] for scope in scopes if scope in self._tails]
            if self._barrier is not None:
                waits.append(self._barrier)
        task = asyncio.create_task(self._run(waits, apply))
        self._tasks.append(task)
        if scopes is None:
            # Everything later waits for the barrier, which waits for everything earlier.
            self._barrier, self._tails = task, {}
        else:
            self._tails.update(dict.fromkeys(scopes, task))

    async def _run(
        self, waits: list[asyncio.Task[None]], apply: Callable[[], Awaitable[None]]
    ) -> None:
        for earlier in waits:
            await earlier  # its failure is this change's too: the batch is given up
        async with self._slots:  # taken only once nothing is awaited: no slot waits on a slot
            await apply()

    async def drain(self) -> None:
        """Wait until every change is applied; at the first failure, stop the others and raise
        it (the batch is then replayed from the checkpoint)."""
        pending = {task for task in self._tasks if not task.done()}
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            if any(not task.cancelled() and task.exception() for task in done):
                break
        for task in self._tasks:  # the earliest failure in stream order
            if task.done() and not task.cancelled() and task.exception() is not None:
                await self.cancel()
                raise task.exception()  # type: ignore[misc]
        if any(task.cancelled() for task in self._tasks):
            raise asyncio.CancelledError("a lane was cancelled")

    async def cancel(self) -> None:
        """Stop every change still under way and wait until they have stopped: a cancelled
        projector (shutdown, a lost lease) must not write after it returns."""
        for task in self._tasks:
            task.cancel()
        interrupted = False
        while running := [task for task in self._tasks if not task.done()]:
            try:  # bounded: every one of them is cancelled and ends at its next await
                await asyncio.wait(running)
            except asyncio.CancelledError:
                interrupted = True  # cancelled again while stopping: the lanes stop first
        if interrupted:
            raise asyncio.CancelledError("cancelled while stopping the lanes")


class InOrder:
    """Tells the lag which changes are applied in stream order, so that it is measured from the
    oldest change still under way (a later one applied first does not count yet)."""

    def __init__(self, lag: Lag) -> None:
        self._lag = lag
        self._waiting: deque[list[Any]] = deque()  # [change, applied]

    def add(
        self, change: Change, apply: Callable[[], Awaitable[None]]
    ) -> Callable[[], Awaitable[None]]:
        entry = [change, False]
        self._waiting.append(entry)

        async def applied_in_order() -> None:
            await apply()
            entry[1] = True
            while self._waiting and self._waiting[0][1]:
                self._lag.passed(self._waiting.popleft()[0])
            if self._waiting:
                self._lag.read(self._waiting[0][0])

        return applied_in_order
