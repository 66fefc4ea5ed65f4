"""Where a plan is written: through the HTTP API, or into the write model by the command use cases.

Both make the same writes a client would; the projector then builds the read models from the
write model's change stream, as it does for any other write.

- `ApiTarget` signs every user up and in over HTTP and writes as them. It is subject to the
  stack's rate limits and Argon2 cost: a 429 or 503 with `Retry-After` is waited out and retried
  (`waits` counts them), and a wait longer than `max_wait` stops the seeding with the limit that
  was hit, so a stack with the default limits says why instead of seeming to hang.
- `WriteModelTarget` calls the command service's use cases (`command_service/commands/`) on a
  database: no HTTP, no rate limits. Users are inserted with one Argon2 hash of the shared demo
  password (made once with the stack's settings), so each can still sign in with it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import httpx
from bson.timestamp import Timestamp

from command_service.commands import follows, posts, reactions
from command_service.passwords import Passwords
from command_service.write_model import users
from command_service.write_model.command_scope import command_scope
from query_service.projector.checkpoints import load_checkpoint
from service_kit.consistency import STATE_HEADER, TOKEN_HEADER
from service_kit.mongo import Database, MongoConnection
from service_kit.settings import Settings
from service_kit.tokens import Principal

DEMO_PASSWORD = "correct horse battery"  # noqa: S105 (every demo account's, printed for the user)
RETRIED = (429, 503)


@dataclass(frozen=True)
class Account:
    """A seeded user as the target writes as them."""

    principal: Principal
    token: str | None = None  # the access token, when writes go through the API

    @property
    def auth(self) -> str:
        assert self.token is not None, "a write-model account has no token"
        return self.token


class SeedingStopped(Exception):
    """The target refused a write for a reason waiting will not fix soon."""


class Target(Protocol):
    waits: int

    async def sign_up(self, handle: str, display_name: str, bio: str) -> Account: ...

    async def follow(self, follower: Account, followee_handle: str) -> None: ...

    async def post(self, author: Account, text: str, reply_to: str | None) -> str: ...

    async def react(self, kind: str, user: Account, post_id: str) -> None: ...

    async def wait_projected(self, seconds: float) -> bool:
        """Wait until the projector has applied the last write; False after `seconds`."""
        ...


class ApiTarget:
    def __init__(self, client: httpx.AsyncClient, *, max_wait: float = 60.0) -> None:
        self._client = client
        self._max_wait = max_wait
        self.waits = 0
        self._last_token: str | None = None

    async def _send(
        self, method: str, path: str, *, token: str | None = None, json: object = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        while True:
            response = await self._client.request(method, path, json=json, headers=headers)
            if response.status_code not in RETRIED:
                self._last_token = response.headers.get(TOKEN_HEADER, self._last_token)
                return response
            retry_after = float(response.headers.get("Retry-After", "1"))
            if retry_after > self._max_wait:
                detail = response.json().get("detail", response.text)
                raise SeedingStopped(
                    f"{method} {path} answered {response.status_code} ({detail}); start the stack "
                    "with the demo limits (`make run` on the embedded store has them) or relax "
                    "RATE_LIMIT_* (README, Configuration)"
                )
            self.waits += 1
            await asyncio.sleep(retry_after)

    @staticmethod
    def _check(response: httpx.Response, *expected: int) -> httpx.Response:
        if response.status_code not in expected:
            request = response.request
            raise SeedingStopped(
                f"{request.method} {request.url.path} answered {response.status_code}: "
                f"{response.text[:300]}"
            )
        return response

    async def sign_up(self, handle: str, display_name: str, bio: str) -> Account:
        body = {"handle": handle, "password": DEMO_PASSWORD, "display_name": display_name}
        created = await self._send("POST", "/command/v1/users", json=body)
        if created.status_code == 409:
            raise SeedingStopped(
                f"the handle {handle!r} is taken: this stack already holds a seeded graph "
                "(restart it for a fresh one, or seed another graph with --seed)"
            )
        user_id = self._check(created, 201).json()["id"]
        signed_in = await self._send(
            "POST", "/command/v1/sessions", json={"handle": handle, "password": DEMO_PASSWORD}
        )
        token = self._check(signed_in, 200).json()["access_token"]
        account = Account(Principal(user_id=user_id, handle=handle), token)
        if bio:
            edited = await self._send(
                "PATCH", "/command/v1/users/me", token=token, json={"bio": bio}
            )
            self._check(edited, 200)
        return account

    async def follow(self, follower: Account, followee_handle: str) -> None:
        path = f"/command/v1/users/{followee_handle}/follow"
        self._check(await self._send("PUT", path, token=follower.auth), 204)

    async def post(self, author: Account, text: str, reply_to: str | None) -> str:
        body: dict[str, str] = {"text": text} | ({"reply_to": reply_to} if reply_to else {})
        response = await self._send("POST", "/command/v1/posts", token=author.auth, json=body)
        return str(self._check(response, 201).json()["id"])

    async def react(self, kind: str, user: Account, post_id: str) -> None:
        path = f"/command/v1/posts/{post_id}/{kind}"
        self._check(await self._send("PUT", path, token=user.auth), 204)

    async def wait_projected(self, seconds: float) -> bool:
        """Read with the last write's consistency token until the answer says `fresh`."""
        if self._last_token is None:
            return True
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            response = await self._client.get(
                "/query/v1/explore", params={"limit": 1}, headers={TOKEN_HEADER: self._last_token}
            )
            if response.headers.get(STATE_HEADER) == "fresh":
                return True
            await asyncio.sleep(0.05)  # the server waited CONSISTENCY_WAIT_MS already
        return False


class WriteModelTarget:
    def __init__(self, database: Database, read_database: Database, password_hash: str) -> None:
        self._database = database
        self._read_database = read_database
        self._password_hash = password_hash
        self.waits = 0
        self._last_write: Timestamp | None = None

    @classmethod
    async def for_settings(
        cls, connection: MongoConnection, settings: Settings
    ) -> WriteModelTarget:
        """A target on this connection, its users' hash made with these settings' Argon2 cost."""
        passwords = Passwords(settings)
        try:
            password_hash = await passwords.hash(DEMO_PASSWORD)
            return cls(connection.database, connection.read_database, password_hash)
        finally:
            passwords.close()

    async def sign_up(self, handle: str, display_name: str, bio: str) -> Account:
        try:
            async with self._command():
                user = await users.insert_user(
                    self._database,
                    handle=handle,
                    display_name=display_name,
                    password_hash=self._password_hash,
                )
                if bio:
                    await users.update_profile(
                        self._database, user["_id"], display_name=None, bio=bio
                    )
        except users.HandleAlreadyStored as error:
            raise SeedingStopped(
                f"the handle {handle!r} is taken: this database already holds a seeded graph"
            ) from error
        return Account(Principal(user_id=str(user["_id"]), handle=handle))

    @asynccontextmanager
    async def _command(self) -> AsyncIterator[None]:
        """One causally consistent session, as the API opens for each command: its cluster time
        says when the projector has caught up with it."""
        async with command_scope(self._database) as scope:
            yield
        if scope.cluster_time is not None:
            self._last_write = max(self._last_write or scope.cluster_time, scope.cluster_time)

    async def follow(self, follower: Account, followee_handle: str) -> None:
        async with self._command():
            await follows.follow(self._database, follower.principal, followee_handle)

    async def post(self, author: Account, text: str, reply_to: str | None) -> str:
        async with self._command():
            created = await posts.create_post(
                self._database, author.principal, text=text, reply_to=reply_to
            )
        return str(created["_id"])

    async def react(self, kind: str, user: Account, post_id: str) -> None:
        write = reactions.like if kind == "like" else reactions.repost
        async with self._command():
            await write(self._database, user.principal, post_id)

    async def wait_projected(self, seconds: float) -> bool:
        """Poll the projector's checkpoint until it vouches for the latest write."""
        deadline = time.monotonic() + seconds
        while self._last_write is not None and time.monotonic() < deadline:
            checkpoint = await load_checkpoint(self._read_database)
            if (
                checkpoint
                and checkpoint.cluster_time
                and checkpoint.cluster_time >= self._last_write
            ):
                return True
            await asyncio.sleep(0.1)
        return self._last_write is None
