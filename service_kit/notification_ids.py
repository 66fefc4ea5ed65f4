"""Notification ids: opaque to clients, but they encode the notification's position.

A notification's position in its owner's list is (created_at, key), newest first, like every page
(`query_service/read_models/pagination.py`). The id the API shows is that position, encoded, so
the command side can store "read up to here" from the id alone, without reading a read model.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from service_kit import opaque_tokens

# Keys are built by the projector from ids (`like:<user>:<post>`, ...); anything longer is not one.
MAX_KEY_CHARS = 120


class InvalidNotificationId(ValueError):
    pass


@dataclass(frozen=True, order=True)
class NotificationPosition:
    created_at: datetime
    key: str


def encode_notification_id(position: NotificationPosition) -> str:
    return opaque_tokens.encode(
        {"t": position.created_at.astimezone(UTC).isoformat(), "k": position.key}
    )


def decode_notification_id(value: str) -> NotificationPosition:
    """The position an id encodes; `InvalidNotificationId` for anything this API did not issue."""
    try:
        payload = opaque_tokens.decode(value)
        created_at = datetime.fromisoformat(payload["t"])
        key = payload["k"]
        if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_CHARS:
            raise InvalidNotificationId(value)
        if created_at.tzinfo is None:
            raise InvalidNotificationId(value)
        key.encode("utf-8")  # lone surrogates cannot be stored
        created_at = created_at.astimezone(UTC)
    except (
        UnicodeError,
        ValueError,
        KeyError,
        TypeError,
        OverflowError,
        RecursionError,
    ) as error:
        raise InvalidNotificationId(value) from error
    return NotificationPosition(created_at=created_at, key=key)
