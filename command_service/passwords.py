"""Password hashing with Argon2id (argon2-cffi), at a bounded cost per process.

Each hash takes PASSWORD_HASH_MEMORY_KIB of memory and real CPU time, so hashes run in their own
small thread pool, never in the pool the framework uses for everything else, and at most
`Settings.password_hash_concurrency` at a time (the memory budget divided by one hash's memory).
A request that cannot start its hash within PASSWORD_HASH_QUEUE_TIMEOUT_MS, or that finds
PASSWORD_HASH_MAX_WAITING requests already queued, gets `HashingBusy`, which the API answers
with 503 and Retry-After: a flood costs waiting, not memory. Hashing threads run at a lower CPU
priority (nice 10, on Linux), so the event loop keeps answering other requests while they work.
"""

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from service_kit.settings import Settings

T = TypeVar("T")


class HashingBusy(Exception):
    """Every hashing slot stayed taken for the whole queue timeout."""


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def _lower_priority() -> None:
    # Linux: nice is per thread, and the lanes libargon2 starts inherit it.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


class Passwords:
    def __init__(self, settings: Settings) -> None:
        self._hasher = _hasher(
            settings.password_hash_time_cost,
            settings.password_hash_memory_kib,
            settings.password_hash_parallelism,
        )
        self.concurrency = settings.password_hash_concurrency
        self._queue_timeout = settings.password_hash_queue_timeout_ms / 1000
        self._max_waiting = settings.password_hash_max_waiting
        self._waiting = 0
        self._executor = ThreadPoolExecutor(
            self.concurrency, thread_name_prefix="argon2", initializer=_lower_priority
        )
        self._slots = asyncio.Semaphore(self.concurrency)
        # Verifying unknown handles against this keeps sign-in time the same for both failures.
        self._decoy_hash = self._hasher.hash("decoy password, never matches")

    async def _run(self, work: Callable[..., T], *args: str) -> T:
        if self._slots.locked() and self._waiting >= self._max_waiting:
            raise HashingBusy
        self._waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), self._queue_timeout)
        except TimeoutError as error:
            raise HashingBusy from error
        finally:
            self._waiting -= 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)
        finally:
            self._slots.release()

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return await self._run(self._hasher.verify, password_hash or self._decoy_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
