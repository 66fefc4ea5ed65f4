"""Ids travel as 24-hex-digit strings in the API and as ObjectIds in the write model."""

from bson import ObjectId
from bson.errors import InvalidId


def parse_object_id(value: str) -> ObjectId | None:
    """The ObjectId a client sent, or None when the text cannot be one (callers answer 404)."""
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None
