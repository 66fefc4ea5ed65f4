"""Read-your-writes: a query that carries a write's token waits (boundedly) for the projector.

Only a token the command service issued can make a query wait (`service_kit/consistency.py`); any
other token is refused with 400 once the request itself has succeeded. Waiting costs the database
the same however many queries wait: one task per process (`ProjectionProgress`) reads the
projector's checkpoint while anyone waits, and wakes the queries whose writes it has reached. At
most `CONSISTENCY_MAX_WAITERS` queries wait at once; beyond that a query is answered at once and
says `stale`, so no number of waiting queries can hold up the others or pile up without bound.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from bson.timestamp import Timestamp
from fastapi import FastAPI
from starlette.datastructures import MutableHeaders, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from query_service.projector.checkpoints import load_checkpoint
from service_kit.consistency import (
    STATE_HEADER,
    TOKEN_HEADER,
    TOKEN_PARAMETER,
    ConsistencyKeys,
    InvalidConsistencyToken,
)
from service_kit.mongo import Database
from service_kit.problems import Problem
from service_kit.service_app import add_service_middleware
from service_kit.settings import Settings

log = logging.getLogger(__name__)
POLL_SECONDS = 0.02
_HEADER_NAME = TOKEN_HEADER.lower().encode("latin-1")


async def applied_through(database: Database) -> Timestamp | None:
    """The cluster time every write up to which the read models reflect (None before any)."""
    checkpoint = await load_checkpoint(database)
    return checkpoint.cluster_time if checkpoint is not None else None


class ProjectionProgress:
    """How far the projector has got, as this process learns it: while any query waits, one task
    reads the checkpoint every `poll_seconds` and wakes the queries whose writes it has reached.

    `read` is that one read. The checkpoint only moves forward, so a time once reached stays
    reached and a query for it returns without reading anything.
    """

    def __init__(
        self,
        read: Callable[[], Awaitable[Timestamp | None]],
        *,
        max_waiters: int,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._read = read
        self._max_waiters = max_waiters
        self._poll_seconds = poll_seconds
        self._applied: Timestamp | None = None
        self._waiters: dict[asyncio.Future[None], Timestamp] = {}
        self._poller: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        """Queries waiting now."""
        return len(self._waiters)

    async def reached(self, wanted: Timestamp, wait_seconds: float) -> bool:
        """Whether the read models reflect every write up to `wanted`, waiting at most
        `wait_seconds`; False at once when `CONSISTENCY_MAX_WAITERS` queries already wait."""
        if self._has_reached(wanted):
            return True
        if len(self._waiters) >= self._max_waiters:
            return False
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[woken] = wanted
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="consistency-progress")
        try:
            async with asyncio.timeout(wait_seconds):
                await woken
            return True
        except TimeoutError:
            return False
        finally:
            del self._waiters[woken]

    def _has_reached(self, wanted: Timestamp) -> bool:
        return self._applied is not None and self._applied >= wanted

    async def _poll(self) -> None:
        while any(not woken.done() for woken in self._waiters):
            try:
                applied = await self._read()
            except Exception as error:  # MongoDB away: the waits run out and answer `stale`
                log.warning("could not read the projector's progress: %r", error)
                applied = None
            if applied is not None and not self._has_reached(applied):
                self._applied = applied
            for woken, wanted in self._waiters.items():
                if not woken.done() and self._has_reached(wanted):
                    woken.set_result(None)
            if any(not woken.done() for woken in self._waiters):
                await asyncio.sleep(self._poll_seconds)


class ReadYourWrites:
    """A plain ASGI middleware (no BaseHTTPMiddleware: no extra task per request) around the
    query routes: a GET or HEAD carrying a token waits for it, then runs and says
    `X-Consistency: fresh` or `stale`."""

    def __init__(
        self,
        app: ASGIApp,
        progress: ProjectionProgress,
        keys: ConsistencyKeys,
        wait_seconds: float,
    ) -> None:
        self.app = app
        self.progress = progress
        self.keys = keys
        self.wait_seconds = wait_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _token_of(scope) if scope["type"] == "http" else None
        if token is None or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        try:
            wanted = self.keys.verify(token)
        except InvalidConsistencyToken:
            await self._refuse_if_successful(scope, receive, send)
            return
        state = "fresh" if await self.progress.reached(wanted, self.wait_seconds) else "stale"

        async def with_state(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[STATE_HEADER] = state
            await send(message)

        await self.app(scope, receive, with_state)

    async def _refuse_if_successful(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The request's own problems (401, 404, 422) come first; a bad token only spoils a
        success, whose response is replaced by the 400."""
        refused = False

        async def unless_successful(message: Message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start" and message["status"] < 300:
                refused = True
                problem = Problem(
                    HTTPStatus.BAD_REQUEST,
                    f"The {TOKEN_HEADER} is not one this API issued.",
                    slug="invalid-consistency-token",
                )
                await problem.response()(scope, receive, send)
            if not refused:
                await send(message)

        await self.app(scope, receive, unless_successful)


def _token_of(scope: Scope) -> str | None:
    """The token in the header, else in the query parameter, as Starlette would read them."""
    header: str | None = None
    for name, value in scope["headers"]:
        if name == _HEADER_NAME:
            header = value.decode("latin-1")
            break
    if header:
        return header
    query = scope.get("query_string", b"")
    return QueryParams(query).get(TOKEN_PARAMETER) if query else None


def install_read_your_writes(app: FastAPI, settings: Settings) -> None:
    progress = app.state.projection_progress = ProjectionProgress(
        lambda: applied_through(app.state.database), max_waiters=settings.consistency_max_waiters
    )
    add_service_middleware(
        app,
        ReadYourWrites,
        progress=progress,
        keys=ConsistencyKeys.from_settings(settings),
        wait_seconds=settings.consistency_wait_ms / 1000,
    )
