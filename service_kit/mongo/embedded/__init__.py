"""The in-process store for tests and `make run`.

Not for load. Queries by `_id` are constant-time and equality on one top-level field is a cheap
scan (`fast_path.py`); every other query scans its whole collection with mongomock's matcher.
Figures: docs/performance.md.
"""

from service_kit.mongo.embedded.change_stream import ChangeLog, EmbeddedChangeStream
from service_kit.mongo.embedded.store import EmbeddedClient, EmbeddedCollection, EmbeddedDatabase

__all__ = [
    "ChangeLog",
    "EmbeddedChangeStream",
    "EmbeddedClient",
    "EmbeddedCollection",
    "EmbeddedDatabase",
]
