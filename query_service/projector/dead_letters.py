"""Changes the projections could not apply, parked so the stream can move on.

A change that keeps failing (after bounded retries) is stored here with its error, keyed by its
resume token so parking it again on a replayed batch is harmless. An operator lists them, asks
for a replay (the running projector applies it between batches, against the document's current
state) or discards them: `python -m query_service.projector.admin dead-letters ...`.
"""

from typing import Any, Final

from pymongo import ASCENDING, IndexModel

from service_kit.clock import utc_now
from service_kit.mongo import Database

PROJECTOR_DEAD_LETTERS: Final = "projector_dead_letters"
# The running projector looks for replay requests every second.
DEAD_LETTER_INDEXES: Final = [
    IndexModel([("replay_requested", ASCENDING), ("_id", ASCENDING)], name="replay_requests")
]


async def ensure_dead_letter_indexes(database: Database) -> None:
    await database[PROJECTOR_DEAD_LETTERS].create_indexes(DEAD_LETTER_INDEXES)


def dead_letter_id(change: dict[str, Any]) -> str:
    return str(change["_id"]["_data"])


async def park(
    database: Database, change: dict[str, Any], error: BaseException, attempts: int
) -> None:
    await database[PROJECTOR_DEAD_LETTERS].update_one(
        {"_id": dead_letter_id(change)},
        {
            "$set": {
                "change": change,
                "error": f"{type(error).__name__}: {error}",
                "attempts": attempts,
                "parked_at": utc_now(),
                "replay_requested": False,
            }
        },
        upsert=True,
    )


async def list_parked(database: Database, limit: int = 100) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (
        await database[PROJECTOR_DEAD_LETTERS].find().sort("_id", 1).limit(limit).to_list(None)
    )
    return found


async def count_parked(database: Database) -> int:
    """From collection metadata: scraped every few seconds, it must not scan."""
    return await database[PROJECTOR_DEAD_LETTERS].estimated_document_count()


async def request_replay(database: Database, letter_id: str | None) -> int:
    """Ask the running projector to apply one parked change again (or all with None)."""
    selector = {} if letter_id is None else {"_id": letter_id}
    result = await database[PROJECTOR_DEAD_LETTERS].update_many(
        selector, {"$set": {"replay_requested": True}}
    )
    return result.matched_count


async def discard(database: Database, letter_id: str | None) -> int:
    selector = {} if letter_id is None else {"_id": letter_id}
    result = await database[PROJECTOR_DEAD_LETTERS].delete_many(selector)
    return result.deleted_count


async def replay_requests(database: Database, limit: int = 100) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (
        await database[PROJECTOR_DEAD_LETTERS]
        .find({"replay_requested": True})
        .sort("_id", 1)
        .limit(limit)
        .to_list(None)
    )
    return found


async def replay_failed(
    database: Database, letter_id: str, error: BaseException, attempts: int
) -> None:
    await database[PROJECTOR_DEAD_LETTERS].update_one(
        {"_id": letter_id},
        {
            "$set": {"error": f"{type(error).__name__}: {error}", "replay_requested": False},
            "$inc": {"attempts": attempts},
        },
    )


async def replayed(database: Database, letter_id: str) -> None:
    await database[PROJECTOR_DEAD_LETTERS].delete_one({"_id": letter_id})
