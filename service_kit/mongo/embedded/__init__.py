"""The in-process store for tests and `make run`.

Not for load: it suits tens of users, and every query scans its whole collection.
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
