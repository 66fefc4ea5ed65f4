"""Opaque tokens: a small JSON payload in unpadded URL-safe base64.

Cursors and notification ids are such tokens; each module checks its own fields after `decode`.
"""

import base64
import binascii
import json
from typing import Any


class NotAToken(ValueError):
    """Not base64 of JSON: nothing this API issued."""


def encode(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(token: str) -> Any:
    try:
        padded = token + "=" * (-len(token) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, UnicodeError, ValueError, RecursionError) as error:
        raise NotAToken(token) from error
