"""Open the MongoDB connection a process runs on: a real replica set, or the embedded store."""

import asyncio
from dataclasses import dataclass
from typing import Any, cast

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from service_kit.settings import Settings

Database = AsyncDatabase[dict[str, Any]]
Collection = AsyncCollection[dict[str, Any]]


@dataclass(frozen=True)
class MongoConnection:
    client: AsyncMongoClient[dict[str, Any]]
    database: Database
    embedded: bool

    async def close(self) -> None:
        await self.client.close()


def connect(settings: Settings) -> MongoConnection:
    """Connect lazily (PyMongo opens sockets on first use), so a process starts without MongoDB."""
    if settings.mongodb_uri is None:
        return connect_embedded(settings)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_uri.get_secret_value(),
        tz_aware=True,
        serverSelectionTimeoutMS=settings.mongodb_timeout_ms,
        appname="microblog",
    )
    return MongoConnection(client, client.get_database(settings.mongodb_database), embedded=False)


def connect_embedded(settings: Settings) -> MongoConnection:
    # Imported here so production images need not install the mock.
    from service_kit.mongo.embedded import EmbeddedClient

    embedded = EmbeddedClient(
        change_history=settings.embedded_change_history,
        interleave=settings.embedded_interleave,
    )
    # The embedded facades present PyMongo's async API; the casts say so to the type checker.
    client = cast(AsyncMongoClient[dict[str, Any]], embedded)
    database = cast(Database, embedded.get_database(settings.mongodb_database))
    return MongoConnection(client, database, embedded=True)


async def ping(database: Database, timeout_seconds: float = 2.0) -> None:
    """Raise if MongoDB does not answer a ping within the timeout."""
    async with asyncio.timeout(timeout_seconds):
        await database.command("ping")
