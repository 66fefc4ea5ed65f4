"""Keyset pagination with opaque cursors: a page resumes strictly after the last item shown."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class InvalidCursor(Exception):
    pass


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last item's time and id, in newest-first order."""

    created_at: datetime
    id: str


def encode_cursor(position: Position) -> str:
    payload = json.dumps(
        {"t": position.created_at.isoformat(), "id": position.id}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        created_at = datetime.fromisoformat(payload["t"])
        item_id = payload["id"]
        if not isinstance(item_id, str) or created_at.tzinfo is None:
            raise InvalidCursor(cursor)
        # In UTC, as stored; an offset that pushes the time past year 1-9999 is not a cursor.
        created_at = created_at.astimezone(UTC)
        item_id.encode("utf-8")  # lone surrogates cannot go into a BSON query
    except (
        binascii.Error,
        UnicodeError,
        ValueError,
        KeyError,
        TypeError,
        OverflowError,
        RecursionError,
    ) as error:
        raise InvalidCursor(cursor) from error
    return Position(created_at=created_at, id=item_id)


def after(position: Position | None, id_field: str) -> dict[str, Any]:
    """The filter for items strictly older than `position` (ties broken by id, descending)."""
    if position is None:
        return {}
    return {
        "$or": [
            {"created_at": {"$lt": position.created_at}},
            {"created_at": position.created_at, id_field: {"$lt": position.id}},
        ]
    }
