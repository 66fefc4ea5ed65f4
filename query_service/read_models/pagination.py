"""Keyset pagination with opaque cursors: a page resumes strictly after the last item shown."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from service_kit import opaque_tokens

Item = TypeVar("Item")


# Entries shown by earlier pages: never more than the largest TIMELINE_MAX_ENTRIES.
MAX_SHOWN = 100_000


class InvalidCursor(Exception):
    pass


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last item's time and id, in newest-first order.

    A home timeline also carries how many of its entries earlier pages showed (pages show at most
    TIMELINE_MAX_ENTRIES of them) and whether it merges posts of large accounts.
    """

    created_at: datetime
    id: str
    shown: int = 0
    merging: bool = False


@dataclass(frozen=True)
class Page(Generic[Item]):
    items: list[Item]
    next_position: Position | None


def encode_cursor(position: Position) -> str:
    fields: dict[str, Any] = {"t": position.created_at.isoformat(), "id": position.id}
    if position.shown:
        fields["n"] = position.shown
    if position.merging:
        fields["m"] = 1
    return opaque_tokens.encode(fields)


def decode_cursor(cursor: str) -> Position:
    try:
        payload = opaque_tokens.decode(cursor)
        created_at = datetime.fromisoformat(payload["t"])
        item_id = payload["id"]
        shown, merging = payload.get("n", 0), payload.get("m", 0)
        if not isinstance(item_id, str) or created_at.tzinfo is None:
            raise InvalidCursor(cursor)
        if type(shown) is not int or not 0 <= shown <= MAX_SHOWN or type(merging) is not int:
            raise InvalidCursor(cursor)
        if merging not in (0, 1):
            raise InvalidCursor(cursor)
        # In UTC, as stored; an offset that pushes the time past year 1-9999 is not a cursor.
        created_at = created_at.astimezone(UTC)
        item_id.encode("utf-8")  # lone surrogates cannot go into a BSON query
    except (
        UnicodeError,
        ValueError,
        KeyError,
        TypeError,
        OverflowError,
        RecursionError,
    ) as error:
        raise InvalidCursor(cursor) from error
    return Position(created_at=created_at, id=item_id, shown=shown, merging=merging == 1)


def after(position: Position | None, id_field: str) -> dict[str, Any]:
    """The filter for items strictly older than `position` (ties broken by id, descending)."""
    if position is None:
        return {}
    return {
        # The top-level bound keeps the index scan tight; the `$or` breaks ties on the id.
        "created_at": {"$lte": position.created_at},
        "$or": [
            {"created_at": {"$lt": position.created_at}},
            {"created_at": position.created_at, id_field: {"$lt": position.id}},
        ],
    }


def page_of(items: list[Item], limit: int, position_of: Callable[[Item], Position]) -> Page[Item]:
    """A page from up to `limit + 1` items: the extra one only says that another page exists."""
    if len(items) > limit:
        items = items[:limit]
        return Page(items, position_of(items[-1]))
    return Page(items, None)


def later_than(position: Position | None, id_field: str) -> dict[str, Any]:
    """The filter for items strictly newer than `position`: the next page of an oldest-first list
    (ties broken by id, ascending)."""
    if position is None:
        return {}
    return {
        "created_at": {"$gte": position.created_at},
        "$or": [
            {"created_at": {"$gt": position.created_at}},
            {"created_at": position.created_at, id_field: {"$gt": position.id}},
        ],
    }


@dataclass(frozen=True)
class KeyPosition:
    """Where a page of an alphabetical list ended: the last item's key and id, ascending."""

    key: str
    id: str


def encode_key_cursor(position: KeyPosition) -> str:
    return opaque_tokens.encode({"k": position.key, "id": position.id})


def decode_key_cursor(cursor: str) -> KeyPosition:
    try:
        payload = opaque_tokens.decode(cursor)
        key, item_id = payload["k"], payload["id"]
        if not isinstance(key, str) or not isinstance(item_id, str):
            raise InvalidCursor(cursor)
        key.encode("utf-8")  # lone surrogates cannot go into a BSON query
        item_id.encode("utf-8")
    except (
        UnicodeError,
        ValueError,
        KeyError,
        TypeError,
        RecursionError,
    ) as error:
        raise InvalidCursor(cursor) from error
    return KeyPosition(key=key, id=item_id)


def key_after(position: KeyPosition | None, key_field: str) -> dict[str, Any]:
    """The filter for items strictly after `position` in (key, _id) ascending order."""
    if position is None:
        return {}
    return {
        "$or": [
            {key_field: {"$gt": position.key}},
            {key_field: position.key, "_id": {"$gt": position.id}},
        ]
    }
