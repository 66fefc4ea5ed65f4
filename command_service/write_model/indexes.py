"""Indexes the write model relies on for correctness (uniqueness) and for its lookups."""

from pymongo import ASCENDING, DESCENDING, IndexModel

from service_kit.mongo import Database
from service_kit.write_model import FOLLOWS, POSTS, USERS

WRITE_MODEL_INDEXES: dict[str, list[IndexModel]] = {
    USERS: [IndexModel([("handle_lower", ASCENDING)], unique=True, name="handle_unique")],
    POSTS: [
        IndexModel([("author_id", ASCENDING), ("created_at", DESCENDING)], name="author_recent")
    ],
    FOLLOWS: [IndexModel([("followee_id", ASCENDING)], name="followers_of")],
}


async def ensure_write_model_indexes(database: Database) -> None:
    for collection, indexes in WRITE_MODEL_INDEXES.items():
        await database[collection].create_indexes(indexes)
