"""Read-your-writes: a query that carries a write's token waits (boundedly) for the projector."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from bson.timestamp import Timestamp
from fastapi import FastAPI, Request, Response

from query_service.projector.checkpoints import load_checkpoint
from service_kit.consistency import (
    STATE_HEADER,
    TOKEN_HEADER,
    TOKEN_PARAMETER,
    InvalidConsistencyToken,
    decode_token,
)
from service_kit.mongo import Database
from service_kit.problems import Problem

POLL_SECONDS = 0.02


async def projected_through(database: Database, wanted: Timestamp, seconds: float) -> bool:
    """Whether the projector has applied every write up to `wanted`, waiting up to `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        checkpoint = await load_checkpoint(database)
        applied = checkpoint.cluster_time if checkpoint is not None else None
        if applied is not None and applied >= wanted:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL_SECONDS)


def install_read_your_writes(app: FastAPI, wait_seconds: float) -> None:
    @app.middleware("http")
    async def read_your_writes(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        token = request.headers.get(TOKEN_HEADER) or request.query_params.get(TOKEN_PARAMETER)
        if token is None or request.method not in ("GET", "HEAD"):
            return await call_next(request)
        try:
            wanted = decode_token(token)
        except InvalidConsistencyToken:
            # The request's own problems (401, 404, 422) come first; a bad token only spoils a
            # success.
            response = await call_next(request)
            if response.status_code >= 300:
                return response
            return Problem(
                HTTPStatus.BAD_REQUEST,
                f"The {TOKEN_HEADER} is not one this API issued.",
                slug="invalid-consistency-token",
            ).response()
        fresh = await projected_through(request.app.state.database, wanted, wait_seconds)
        response = await call_next(request)
        response.headers[STATE_HEADER] = "fresh" if fresh else "stale"
        return response
