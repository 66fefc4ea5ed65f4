"""Indexes the write model relies on for correctness (uniqueness) and for its lookups."""

from pymongo import ASCENDING, IndexModel

from service_kit.mongo import Database
from service_kit.write_model import USERS

# Posts and follows are only ever looked up by `_id` on the write side (the read models answer
# every list), so they need no index of their own; tests/index_hygiene.py keeps it that way.
WRITE_MODEL_INDEXES: dict[str, list[IndexModel]] = {
    USERS: [IndexModel([("handle_lower", ASCENDING)], unique=True, name="handle_unique")],
}


async def ensure_write_model_indexes(database: Database) -> None:
    for collection, indexes in WRITE_MODEL_INDEXES.items():
        await database[collection].create_indexes(indexes)
