"""Read-your-writes tokens: a write's cluster time, MAC'd with a server key, as an opaque string.

The command service answers every write that changed something with `X-Consistency-Token`; a query
that sends it back (header, or the `consistent_after` parameter) is answered once the projector
has applied everything up to that cluster time, or after a bounded wait, saying which it was in
`X-Consistency` (`fresh` or `stale`).

Only a token this API issued may make a query wait: the cluster time is followed by an HMAC-SHA256
of it (truncated to 128 bits) under `CONSISTENCY_SECRET`, which the command and query services
share. A token made under `CONSISTENCY_PREVIOUS_SECRET` is accepted too (none is issued under it),
so the key can be rotated while pods restart one by one without refusing a token: roll out the new
key as the previous one, then the new key as current and the old as previous, then neither.
"""

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from functools import lru_cache

from bson.timestamp import Timestamp

from service_kit.settings import Settings

TOKEN_HEADER = "X-Consistency-Token"  # noqa: S105 (a header name, not a secret)
STATE_HEADER = "X-Consistency"
TOKEN_PARAMETER = "consistent_after"  # noqa: S105 (a parameter name)
_PACKED = struct.Struct(">II")  # a cluster time: seconds and increment
_MAC_BYTES = 16
_TOKEN_CHARS = 32  # 8 + 16 bytes in unpadded base64url
# The MAC covers what the token is for as well as the time, so a MAC made with the same key for
# some other purpose can never pass as a consistency token.
_PURPOSE = b"microblog consistency token v1\x00"


class InvalidConsistencyToken(ValueError):
    """Not a token this API issued: malformed, tampered with, or MAC'd under an unknown key."""


@dataclass(frozen=True)
class ConsistencyKeys:
    """The key tokens are issued under, and the keys they are accepted under (current first)."""

    current: bytes
    previous: bytes | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "ConsistencyKeys":
        current = settings.consistency_secret
        previous = settings.consistency_previous_secret
        return cls(
            current=current.get_secret_value().encode() if current else _ephemeral_key(),
            previous=previous.get_secret_value().encode() if previous else None,
        )

    def issue(self, cluster_time: Timestamp) -> str:
        packed = _PACKED.pack(cluster_time.time, cluster_time.inc)
        token = packed + _mac(self.current, packed)
        return base64.urlsafe_b64encode(token).decode().rstrip("=")

    def verify(self, token: str) -> Timestamp:
        """The cluster time a token names; `InvalidConsistencyToken` for anything not issued
        under one of the keys, whatever the input."""
        if len(token) != _TOKEN_CHARS:
            raise InvalidConsistencyToken(token)
        try:
            raw = base64.urlsafe_b64decode(token.encode("ascii"))
        except (binascii.Error, UnicodeError, ValueError) as error:
            raise InvalidConsistencyToken(token) from error
        packed, mac = raw[: _PACKED.size], raw[_PACKED.size :]
        keys = (self.current,) if self.previous is None else (self.current, self.previous)
        # Every key is tried, so the time taken does not say which one matched.
        matches = [hmac.compare_digest(mac, _mac(key, packed)) for key in keys]
        if len(raw) != _PACKED.size + _MAC_BYTES or not any(matches):
            raise InvalidConsistencyToken(token)
        seconds, increment = _PACKED.unpack(packed)
        return Timestamp(seconds, increment)


def _mac(key: bytes, packed: bytes) -> bytes:
    return hmac.new(key, _PURPOSE + packed, hashlib.sha256).digest()[:_MAC_BYTES]


@lru_cache(maxsize=1)
def _ephemeral_key() -> bytes:
    # Embedded mode runs both services in one process, so a per-process key is enough there.
    return secrets.token_bytes(32)
