"""How far each user has read their notifications: one document per user, only ever moved forward."""

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from command_service.write_model.command_scope import session_options, stamped, wrote
from service_kit.clock import utc_now
from service_kit.mongo import Database
from service_kit.notification_ids import NotificationPosition
from service_kit.write_model import NOTIFICATION_MARKS


async def advance_mark(
    database: Database, user_id: ObjectId, position: NotificationPosition
) -> None:
    """Move the user's mark up to `position`; a position at or behind the mark changes nothing.

    The comparison is in the update's filter, so concurrent requests never move it backwards.
    """
    fields = {
        "read_up_to_time": position.created_at,
        "read_up_to_id": position.key,
        "updated_at": utc_now(),
    }
    behind = {
        "_id": user_id,
        "$or": [
            {"read_up_to_time": {"$lt": position.created_at}},
            {"read_up_to_time": position.created_at, "read_up_to_id": {"$lt": position.key}},
        ],
    }
    moved = await database[NOTIFICATION_MARKS].update_one(
        behind, {"$set": stamped(fields)}, **session_options()
    )
    if moved.modified_count:
        wrote()
        return
    if moved.matched_count:
        return
    try:  # no mark yet, or one already at or ahead of this position
        await database[NOTIFICATION_MARKS].insert_one(
            stamped({"_id": user_id, **fields}), **session_options()
        )
    except DuplicateKeyError:
        return
    wrote()
