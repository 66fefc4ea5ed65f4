"""Read-your-writes tokens: a write's cluster time, handed to the client as an opaque string.

The command service answers every write that changed something with `X-Consistency-Token`; a query
that sends it back (header, or the `consistent_after` parameter) is answered once the projector
has applied everything up to that cluster time, or after a bounded wait, saying which it was in
`X-Consistency` (`fresh` or `stale`).
"""

import base64
import binascii
import struct
import time

from bson.timestamp import Timestamp

TOKEN_HEADER = "X-Consistency-Token"  # noqa: S105 (a header name, not a secret)
STATE_HEADER = "X-Consistency"
TOKEN_PARAMETER = "consistent_after"  # noqa: S105 (a parameter name)
_PACKED = struct.Struct(">II")  # a cluster time: seconds and increment
# A cluster time follows the servers' clocks; one far ahead of ours was not issued by this API
# (and would only make a query wait for nothing).
MAX_AHEAD_SECONDS = 300


class InvalidConsistencyToken(ValueError):
    pass


def encode_token(cluster_time: Timestamp) -> str:
    packed = _PACKED.pack(cluster_time.time, cluster_time.inc)
    return base64.urlsafe_b64encode(packed).decode().rstrip("=")


def decode_token(token: str) -> Timestamp:
    if len(token) != 11:  # 8 bytes in unpadded base64url
        raise InvalidConsistencyToken(token)
    try:
        seconds, increment = _PACKED.unpack(base64.urlsafe_b64decode(token + "="))
    except (binascii.Error, struct.error, ValueError) as error:
        raise InvalidConsistencyToken(token) from error
    if seconds > time.time() + MAX_AHEAD_SECONDS:
        raise InvalidConsistencyToken(token)
    return Timestamp(seconds, increment)
