"""Indexes the write model relies on for correctness (uniqueness) and for its lookups."""

from pymongo import ASCENDING, DESCENDING, IndexModel

from command_service.write_model.idempotency import IDEMPOTENCY_RECORDS
from command_service.write_model.sessions import REFRESH_TOKENS
from service_kit.mongo import Database
from service_kit.rate_limits import ensure_counter_indexes
from service_kit.write_model import FOLLOWS, POSTS, USERS

# TTL indexes (expireAfterSeconds=0) let MongoDB drop expired documents by themselves.
WRITE_MODEL_INDEXES: dict[str, list[IndexModel]] = {
    USERS: [IndexModel([("handle_lower", ASCENDING)], unique=True, name="handle_unique")],
    POSTS: [
        IndexModel([("author_id", ASCENDING), ("created_at", DESCENDING)], name="author_recent")
    ],
    FOLLOWS: [IndexModel([("followee_id", ASCENDING)], name="followers_of")],
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
