"""Rate limits with the `limits` library, counted in MongoDB so every replica shares them.

`limits` ships an async MongoDB storage, but it is built on Motor (end of life since 2026-05-14,
and not installed in the images). `MongoCounterStorage` implements the same fixed-window storage
interface on the database this process already has (PyMongo's `AsyncMongoClient`, or the
embedded store in tests and `make run`). Each counter is one document updated with single-document
atomic operations, so concurrent hits on several replicas never lose a count.
"""

import math
import time
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

from limits import RateLimitItem, parse_many
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from prometheus_client import Counter
from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

from service_kit.mongo import Database
from service_kit.problems import Problem

RATE_LIMIT_COUNTERS = "rate_limit_counters"
COUNTER_INDEXES = [IndexModel([("expire_at", ASCENDING)], expireAfterSeconds=0, name="expiry")]


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class MongoCounterStorage(Storage):
    """Fixed-window counters: `{_id: key, count, expire_at}`; a TTL index removes old ones."""

    STORAGE_SCHEME = ["microblog+pymongo-async"]  # noqa: RUF012 (the base class declares it)

    def __init__(self, database: Database) -> None:
        super().__init__(wrap_exceptions=False)
        self._counters = database[RATE_LIMIT_COUNTERS]

    @property
    def base_exceptions(self) -> type[Exception]:
        return PyMongoError

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        for _ in range(5):
            now = _now()
            # 1. The window is open: count in it.
            counted = await self._counters.find_one_and_update(
                {"_id": key, "expire_at": {"$gt": now}},
                {"$inc": {"count": amount}},
                return_document=ReturnDocument.AFTER,
            )
            if counted is not None:
                return int(counted["count"])
            # 2. The window has closed: exactly one racer reopens it (the filter stops matching).
            reopened = await self._counters.find_one_and_update(
                {"_id": key, "expire_at": {"$lte": now}},
                {"$set": {"count": amount, "expire_at": now + timedelta(seconds=expiry)}},
                return_document=ReturnDocument.AFTER,
            )
            if reopened is not None:
                return int(reopened["count"])
            # 3. No counter yet: the unique _id lets one racer create it; the others count in it.
            try:
                await self._counters.insert_one(
                    {"_id": key, "count": amount, "expire_at": now + timedelta(seconds=expiry)}
                )
            except DuplicateKeyError:
                continue
            return amount
        raise RuntimeError(f"rate limit counter {key!r} kept changing under contention")

    async def _open(self, key: str) -> dict[str, Any] | None:
        return await self._counters.find_one({"_id": key, "expire_at": {"$gt": _now()}})

    async def get(self, key: str) -> int:
        counter = await self._open(key)
        return int(counter["count"]) if counter else 0

    async def get_expiry(self, key: str) -> float:
        counter = await self._open(key)
        return _aware(counter["expire_at"]).timestamp() if counter else time.time()

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        return (await self._counters.delete_many({})).deleted_count

    async def clear(self, key: str) -> None:
        await self._counters.delete_one({"_id": key})


class RateLimited(Problem):
    def __init__(self, what: str, retry_after: int) -> None:
        super().__init__(
            HTTPStatus.TOO_MANY_REQUESTS,
            f"Too many {what}; try again in {retry_after} s.",
            slug="rate-limited",
            headers={"Retry-After": str(retry_after)},
        )


class RateLimits:
    """Named limits checked against shared counters; `hit` raises `RateLimited` (429)."""

    def __init__(
        self, database: Database, *, enabled: bool, rejections: Counter | None = None
    ) -> None:
        self._limiter = FixedWindowRateLimiter(MongoCounterStorage(database))
        self._enabled = enabled
        # microblog_rate_limit_rejections_total, by the limit's name (the first identifier).
        self._rejections = rejections

    async def hit(self, limits_text: str, what: str, *identifiers: str) -> None:
        if not self._enabled:
            return
        for item in _parsed(limits_text):
            if not await self._limiter.hit(item, *identifiers):
                if self._rejections is not None:
                    self._rejections.labels(limit=identifiers[0]).inc()
                await self._refuse(item, what, identifiers)

    async def _refuse(self, item: RateLimitItem, what: str, identifiers: tuple[str, ...]) -> None:
        stats = await self._limiter.get_window_stats(item, *identifiers)
        raise RateLimited(what, max(1, math.ceil(stats.reset_time - time.time())))


_PARSED: dict[str, list[RateLimitItem]] = {}


def _parsed(limits_text: str) -> list[RateLimitItem]:
    if limits_text not in _PARSED:
        _PARSED[limits_text] = parse_many(limits_text)
    return _PARSED[limits_text]


async def ensure_counter_indexes(database: Database) -> None:
    await database[RATE_LIMIT_COUNTERS].create_indexes(COUNTER_INDEXES)
