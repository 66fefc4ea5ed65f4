"""Indexes the write model relies on for correctness (uniqueness) and for its lookups."""

from pymongo import ASCENDING, IndexModel

from command_service.write_model.idempotency import IDEMPOTENCY_RECORDS
from command_service.write_model.sessions import REFRESH_TOKENS
from service_kit.mongo import Database
from service_kit.rate_limits import ensure_counter_indexes
from service_kit.write_model import USERS

# Posts and follows are only ever looked up by `_id` on the write side (the read models answer
# every list), so they need no index of their own; tests/index_hygiene.py keeps it that way.
# TTL indexes (expireAfterSeconds=0) let MongoDB drop expired documents by themselves.
WRITE_MODEL_INDEXES: dict[str, list[IndexModel]] = {
    USERS: [IndexModel([("handle_lower", ASCENDING)], unique=True, name="handle_unique")],
    REFRESH_TOKENS: [
        IndexModel([("family_id", ASCENDING)], name="family"),
        IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry"),
    ],
    IDEMPOTENCY_RECORDS: [
        IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry")
    ],
}


async def ensure_write_model_indexes(database: Database) -> None:
    for collection, indexes in WRITE_MODEL_INDEXES.items():
        await database[collection].create_indexes(indexes)
    await ensure_counter_indexes(database)
