"""The test harness: the real apps on one store, driven over HTTP like a client would.

The store is the embedded one, or, when `TEST_MONGODB_URI` names a replica set, a fresh database
on that real server for each stack (dropped afterwards): the same tests then run against the real
driver and server. `Stack.settle()` runs the projector until it has applied every change, so a
test states "once projected" without sleeping or polling.
"""

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from command_service.main import create_app as create_command_app
from query_service.main import create_app as create_query_app
from query_service.projector.checkpoints import PROJECTOR_CHECKPOINTS
from query_service.projector.runner import Projector
from query_service.read_models.counters import WITHOUT_MARKS
from query_service.read_models.registry import READ_MODEL_COLLECTIONS
from service_kit.mongo import Database, MongoConnection
from service_kit.mongo.connection import connect, connect_embedded
from service_kit.settings import Settings

PASSWORD = "correct horse battery staple"
PROBLEM_JSON = "application/problem+json"


REAL_MONGODB_URI = os.environ.get("TEST_MONGODB_URI") or None
# Set to a database name to run every stack with its read models in that separate database.
SPLIT_READ_MODELS = os.environ.get("TEST_READ_MODEL_DATABASE") or None


def make_settings(**overrides: Any) -> Settings:
    """Cheap Argon2 and a short stream wait keep the suite fast; nothing is read from the env file."""
    values: dict[str, Any] = {
        "mongodb_uri": None,
        "projector_poison_backoff_ms": 1,
        "read_model_mongodb_database": SPLIT_READ_MODELS,
        "jwt_secret": "test-secret-that-is-at-least-32-characters",
        "consistency_secret": "test-consistency-secret-of-32-characters-or-more",
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 64,
        "password_hash_parallelism": 1,
        "projector_max_await_ms": 10,
        "projector_batch_size": 50,
        "log_level": "DEBUG",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class User:
    """A signed-in user, making requests with their token."""

    stack: "Stack"
    id: str
    handle: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def post(self, text: str, reply_to: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"text": text} | ({"reply_to": reply_to} if reply_to else {})
        response = await self.stack.command.post("/command/v1/posts", json=body, headers=self.auth)
        assert response.status_code == 201, response.text
        return response.json()

    async def delete(self, post_id: str) -> httpx.Response:
        return await self.stack.command.delete(f"/command/v1/posts/{post_id}", headers=self.auth)

    async def follow(self, handle: str) -> httpx.Response:
        return await self.stack.command.put(f"/command/v1/users/{handle}/follow", headers=self.auth)

    async def unfollow(self, handle: str) -> httpx.Response:
        return await self.stack.command.delete(
            f"/command/v1/users/{handle}/follow", headers=self.auth
        )

    async def timeline(self, **params: Any) -> dict[str, Any]:
        response = await self.stack.query.get(
            "/query/v1/timeline", params=params, headers=self.auth
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def timeline_ids(self) -> list[str]:
        return [post["id"] for post in (await self.timeline(limit=100))["items"]]


@dataclass
class Stack:
    connection: MongoConnection
    command: httpx.AsyncClient
    query: httpx.AsyncClient
    projector: Projector
    settings: Settings
    users: dict[str, User] = field(default_factory=dict)

    @property
    def database(self) -> Database:
        """The write model's database."""
        return self.connection.database

    @property
    def read_database(self) -> Database:
        """The read models' database (the same one unless the settings split them)."""
        return self.connection.read_database

    def new_projector(self, settings: Settings | None = None) -> Projector:
        """A fresh projector process on this stack's databases (nothing carried over in memory)."""
        return Projector(self.database, settings or self.settings, self.read_database)

    async def settle(self) -> int:
        """Project every change made so far; returns how many were applied."""
        return await self.projector.catch_up()

    async def sign_up(self, handle: str, display_name: str | None = None) -> User:
        body = {
            "handle": handle,
            "password": PASSWORD,
            "display_name": display_name or handle.title(),
        }
        created = await self.command.post("/command/v1/users", json=body)
        assert created.status_code == 201, created.text
        session = await self.command.post(
            "/command/v1/sessions", json={"handle": handle, "password": PASSWORD}
        )
        assert session.status_code == 200, session.text
        user = User(self, created.json()["id"], handle, session.json()["access_token"])
        self.users[handle] = user
        return user

    async def user_page(self, handle: str) -> dict[str, Any]:
        response = await self.query.get(f"/query/v1/users/{handle}")
        assert response.status_code == 200, response.text
        return response.json()

    async def read_models(self) -> dict[str, list[dict[str, Any]]]:
        """Every derived document, in a stable order: what two projector runs must agree on.
        Counter marks are bookkeeping of how counts were reached, not read-model data."""
        snapshot = {}
        for name in READ_MODEL_COLLECTIONS:
            found = self.read_database[name].find({}, WITHOUT_MARKS)
            snapshot[name] = await found.sort("_id", 1).to_list(None)
        return snapshot

    async def checkpoint(self) -> dict[str, Any] | None:
        return await self.read_database[PROJECTOR_CHECKPOINTS].find_one({})


def asgi_client(app: FastAPI, *, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@asynccontextmanager
async def store(settings: Settings) -> AsyncIterator[tuple[Settings, MongoConnection]]:
    """The embedded store, or a fresh database on the real replica set of TEST_MONGODB_URI."""
    if REAL_MONGODB_URI is None:
        yield settings, connect_embedded(settings)
        return
    real = settings.model_copy(
        update={
            "mongodb_uri": SecretStr(REAL_MONGODB_URI),
            "mongodb_database": f"test_{uuid.uuid4().hex[:12]}",
        }
    )
    connection = connect(real)
    try:
        yield real, connection
    finally:
        await connection.client.drop_database(real.mongodb_database)
        await connection.close()


@asynccontextmanager
async def running_stack(settings: Settings) -> AsyncIterator[Stack]:
    async with store(settings) as (actual, connection), _stack_on(actual, connection) as stack:
        yield stack


@asynccontextmanager
async def _stack_on(settings: Settings, connection: MongoConnection) -> AsyncIterator[Stack]:
    command_app = create_command_app(settings, connection)
    query_app = create_query_app(settings, connection)
    async with AsyncExitStack() as stack:
        for app in (command_app, query_app):
            await stack.enter_async_context(app.router.lifespan_context(app))
        command = await stack.enter_async_context(asgi_client(command_app))
        query = await stack.enter_async_context(asgi_client(query_app))
        projector = Projector(connection.database, settings, connection.read_database)
        yield Stack(connection, command, query, projector, settings)
