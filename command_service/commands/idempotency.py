"""Run a creating command at most once per Idempotency-Key.

The key is reserved (inserted under a unique id) before the command runs. A retry that finds the
record gets the stored first result; one that arrives while the first is still running waits a
moment for it, then gets `IdempotencyKeyInUse` (409, retry later). A key reused for a different
request gets `IdempotencyKeyReused`. A command that fails releases its key, so a corrected retry
can run. A runner that died mid-command leaves its reservation to a lease: after
`LEASE_SECONDS` a retry takes it over.
"""

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from command_service.commands.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from command_service.write_model import idempotency
from service_kit.clock import utc_now
from service_kit.mongo import Database

LEASE_SECONDS = 30
KEEP_HOURS = 24
WAIT_FOR_FIRST = (0.05, 0.1, 0.2, 0.4, 0.8)


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]
    replayed: bool


def fingerprint(request: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


async def run_once(
    database: Database,
    *,
    scope: str,
    key: str,
    request: dict[str, Any],
    command: Callable[[], Awaitable[tuple[int, dict[str, Any]]]],
) -> Outcome:
    record_id, print_ = f"{scope}:{key}", fingerprint(request)

    async def reserve() -> dict[str, Any] | None:
        now = utc_now()
        return await idempotency.reserve(
            database,
            record_id,
            print_,
            lease_until=now + timedelta(seconds=LEASE_SECONDS),
            expires_at=now + timedelta(hours=KEEP_HOURS),
        )

    held = await reserve()
    for delay in (*WAIT_FOR_FIRST, None):
        if held is None:
            break
        if held.get("fingerprint") != print_:
            raise IdempotencyKeyReused(key)
        if held.get("state") == "done":
            return Outcome(held["status"], held["body"], replayed=True)
        lease = utc_now() + timedelta(seconds=LEASE_SECONDS)
        if await idempotency.take_over_expired(database, record_id, lease):
            held = None
            break
        if delay is None:
            raise IdempotencyKeyInUse(key)
        await asyncio.sleep(delay)
        held = await reserve()  # None if the first runner failed and released the key
    try:
        status, body = await command()
    except BaseException:
        await idempotency.release(database, record_id)
        raise
    await idempotency.complete(database, record_id, status, body)
    return Outcome(status, body, replayed=False)
