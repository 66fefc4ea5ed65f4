"""Password hashing with Argon2id (argon2-cffi).

Hashing is CPU-bound by design, so it runs in a worker thread, off the event loop.
"""

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.concurrency import run_in_threadpool

from service_kit.settings import Settings


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


class Passwords:
    def __init__(self, settings: Settings) -> None:
        self._hasher = _hasher(
            settings.password_hash_time_cost,
            settings.password_hash_memory_kib,
            settings.password_hash_parallelism,
        )
        # Verifying unknown handles against this keeps sign-in time the same for both failures.
        self._decoy_hash = self._hasher.hash("decoy password, never matches")

    async def hash(self, password: str) -> str:
        return await run_in_threadpool(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return await run_in_threadpool(
                self._hasher.verify, password_hash or self._decoy_hash, password
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
