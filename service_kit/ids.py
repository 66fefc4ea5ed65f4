"""Ids travel as 24-hex-digit strings in the API and as ObjectIds in the write model."""

import re

from bson import ObjectId
from bson.errors import InvalidId


def parse_object_id(value: str) -> ObjectId | None:
    """The ObjectId a client sent, or None when the text cannot be one (callers answer 404)."""
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


_OBJECT_ID = re.compile(r"[0-9a-f]{24}")


def is_post_id(value: str) -> bool:
    """Whether the text has the form of an id this API issues (24 lowercase hex digits)."""
    return _OBJECT_ID.fullmatch(value) is not None
