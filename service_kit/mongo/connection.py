"""Open the MongoDB connection a process runs on: a real replica set, or the embedded store."""

import asyncio
from dataclasses import dataclass, field
from typing import Any, cast

from pydantic import SecretStr
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from service_kit.observability.metrics import Telemetry
from service_kit.observability.mongo import CommandMonitor
from service_kit.settings import Settings

Database = AsyncDatabase[dict[str, Any]]
Collection = AsyncCollection[dict[str, Any]]


@dataclass(frozen=True)
class MongoConnection:
    client: AsyncMongoClient[dict[str, Any]]
    # The write model (and the change stream the projector follows).
    database: Database
    embedded: bool
    # The read models with the projector's checkpoint, dead letters and control documents: the
    # write model's database unless READ_MODEL_MONGODB_URI / _DATABASE put them elsewhere, so that
    # fan-out writes need not flood the write model's oplog.
    read_database: Database
    # The second client when the read models live on another deployment.
    read_client: AsyncMongoClient[dict[str, Any]] | None = None
    # The process's metrics: the driver's command listener feeds them from the start, and the
    # apps on this connection record their requests in them (one connection per process).
    telemetry: Telemetry = field(default_factory=Telemetry)

    async def close(self) -> None:
        await self.client.close()
        if self.read_client is not None:
            await self.read_client.close()


def connect(settings: Settings, telemetry: Telemetry | None = None) -> MongoConnection:
    """Connect lazily (PyMongo opens sockets on first use), so a process starts without MongoDB.
    Every command is observed into `telemetry` (a new one if not given)."""
    telemetry = telemetry or Telemetry()
    if settings.mongodb_uri is None:
        return connect_embedded(settings, telemetry)
    monitor = CommandMonitor(telemetry)
    client = _client(settings.mongodb_uri, settings, monitor)
    read_uri = settings.read_model_mongodb_uri
    read_client = (
        _client(read_uri, settings, monitor)
        if read_uri not in (None, settings.mongodb_uri)
        else None
    )
    return MongoConnection(
        client,
        client.get_database(settings.mongodb_database),
        embedded=False,
        read_database=(read_client or client).get_database(settings.read_models_database),
        read_client=read_client,
        telemetry=telemetry,
    )


def _client(
    uri: SecretStr, settings: Settings, monitor: CommandMonitor
) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(
        uri.get_secret_value(),
        tz_aware=True,
        serverSelectionTimeoutMS=settings.mongodb_timeout_ms,
        appname="microblog",
        event_listeners=[monitor],
    )


def connect_embedded(settings: Settings, telemetry: Telemetry | None = None) -> MongoConnection:
    # Imported here so production images need not install the mock.
    from service_kit.mongo.embedded import EmbeddedClient

    telemetry = telemetry or Telemetry()
    embedded = EmbeddedClient(
        change_history=settings.embedded_change_history,
        interleave=settings.embedded_interleave,
        event_listeners=[CommandMonitor(telemetry)],
    )
    # The embedded facades present PyMongo's async API; the casts say so to the type checker.
    client = cast(AsyncMongoClient[dict[str, Any]], embedded)
    database = cast(Database, embedded.get_database(settings.mongodb_database))
    read_database = cast(Database, embedded.get_database(settings.read_models_database))
    return MongoConnection(
        client, database, embedded=True, read_database=read_database, telemetry=telemetry
    )


async def ping(database: Database, timeout_seconds: float = 2.0) -> None:
    """Raise if MongoDB does not answer a ping within the timeout."""
    async with asyncio.timeout(timeout_seconds):
        await database.command("ping")
