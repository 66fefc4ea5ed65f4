"""Marking notifications read, up to one of them (by its id, which encodes its position)."""

from bson import ObjectId

from command_service.write_model import notification_marks
from service_kit.mongo import Database
from service_kit.notification_ids import NotificationPosition
from service_kit.tokens import Principal


async def mark_read(database: Database, user: Principal, up_to: NotificationPosition) -> None:
    """Everything at or before `up_to` counts as read; an earlier position un-reads nothing."""
    await notification_marks.advance_mark(database, ObjectId(user.user_id), up_to)
