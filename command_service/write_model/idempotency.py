"""Idempotency records: the first result of a creating command, kept per (scope, key).

A record is inserted *before* the command runs, so the unique `_id` decides which of several
concurrent retries runs it: the others find the record and wait for, or replay, its result.
"""

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from service_kit.clock import utc_now
from service_kit.mongo import Database

IDEMPOTENCY_RECORDS = "idempotency_records"


async def reserve(
    database: Database,
    record_id: str,
    fingerprint: str,
    lease_until: datetime,
    expires_at: datetime,
) -> dict[str, Any] | None:
    """None when this caller now owns the key; otherwise the record somebody else holds."""
    try:
        await database[IDEMPOTENCY_RECORDS].insert_one(
            {
                "_id": record_id,
                "fingerprint": fingerprint,
                "state": "running",
                "lease_until": lease_until,
                "expires_at": expires_at,
                "created_at": utc_now(),
            }
        )
    except DuplicateKeyError:
        return await database[IDEMPOTENCY_RECORDS].find_one({"_id": record_id}) or {}
    return None


async def take_over_expired(database: Database, record_id: str, lease_until: datetime) -> bool:
    """Claim a record whose runner died without finishing (its lease ran out)."""
    claimed = await database[IDEMPOTENCY_RECORDS].find_one_and_update(
        {"_id": record_id, "state": "running", "lease_until": {"$lt": utc_now()}},
        {"$set": {"lease_until": lease_until}},
        return_document=ReturnDocument.AFTER,
    )
    return claimed is not None


async def complete(database: Database, record_id: str, status: int, body: Any) -> None:
    await database[IDEMPOTENCY_RECORDS].update_one(
        {"_id": record_id}, {"$set": {"state": "done", "status": status, "body": body}}
    )


async def release(database: Database, record_id: str) -> None:
    """Forget a key whose command failed, so a corrected retry can run it."""
    await database[IDEMPOTENCY_RECORDS].delete_one({"_id": record_id, "state": "running"})
