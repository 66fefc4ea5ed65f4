"""Notification ids: opaque to clients, but they encode the notification's position.

A notification's position in its owner's list is (created_at, key), newest first, like every page
(`query_service/read_models/pagination.py`). The id the API shows is that position, encoded, so
the command side can store "read up to here" from the id alone, without reading a read model.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime

# Keys are built by the projector from ids (`like:<user>:<post>`, ...); anything longer is not one.
MAX_KEY_CHARS = 120


class InvalidNotificationId(ValueError):
    pass


@dataclass(frozen=True, order=True)
class NotificationPosition:
    created_at: datetime
    key: str


def encode_notification_id(position: NotificationPosition) -> str:
    payload = json.dumps(
        {"t": position.created_at.astimezone(UTC).isoformat(), "k": position.key},
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_notification_id(value: str) -> NotificationPosition:
    """The position an id encodes; `InvalidNotificationId` for anything this API did not issue."""
    try:
        padded = value + "=" * (-len(value) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        created_at = datetime.fromisoformat(payload["t"])
        key = payload["k"]
        if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_CHARS:
            raise InvalidNotificationId(value)
        if created_at.tzinfo is None:
            raise InvalidNotificationId(value)
        key.encode("utf-8")  # lone surrogates cannot be stored
        created_at = created_at.astimezone(UTC)
    except (
        binascii.Error,
        UnicodeError,
        ValueError,
        KeyError,
        TypeError,
        OverflowError,
        RecursionError,
    ) as error:
        raise InvalidNotificationId(value) from error
    return NotificationPosition(created_at=created_at, key=key)
