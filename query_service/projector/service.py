"""The projector as a process: the loop in the background, health and metrics endpoints in front.

`/healthz` fails once the loop has died or has made no progress for `PROJECTOR_STALL_SECONDS`
while it is not idle (so Kubernetes restarts the pod); `/readyz` also needs MongoDB to answer, the
loop to be following the stream rather than rebuilding or retrying, and the lag to be at most
`PROJECTOR_MAX_LAG_SECONDS`. `/metrics` is the Prometheus exposition (`metrics.py`).
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from query_service.projector.metrics import scrape
from query_service.projector.runner import Projector
from service_kit.mongo import Database, MongoConnection, connect, ping
from service_kit.problems import Problem, install_problem_handlers
from service_kit.settings import Settings

log = logging.getLogger(__name__)
SHUTDOWN_SECONDS = 20.0


@asynccontextmanager
async def running_projector(projector: Projector) -> AsyncIterator[asyncio.Task[None]]:
    """Run the loop for the duration of the block; on exit let the current batch finish."""
    stop = asyncio.Event()
    task = asyncio.create_task(projector.run(stop), name="projector")
    try:
        yield task
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, SHUTDOWN_SECONDS)
        except TimeoutError:
            log.warning("projector did not stop within %.0fs; cancelling", SHUTDOWN_SECONDS)
        except Exception:
            log.exception("projector stopped with an error")
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def metrics_response(projector: Projector, database: Database, request: Request) -> Response:
    """A `/metrics` answer for a projector: also served by the embedded gateway."""
    body, content_type = await scrape(
        projector.metrics, database, request.headers.get("accept", "")
    )
    return Response(body, headers={"Content-Type": content_type})


def create_projector_app(settings: Settings, connection: MongoConnection | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        active = connection or connect(settings)
        projector = Projector(active.database, settings)
        app.state.database, app.state.projector = active.database, projector
        async with running_projector(projector) as task:
            app.state.task = task
            yield
        if connection is None:
            await active.close()

    app = FastAPI(title="microblog projector", lifespan=lifespan)
    app.state.settings = settings
    install_problem_handlers(app)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> JSONResponse:
        task: asyncio.Task[None] = app.state.task
        projector: Projector = app.state.projector
        if task.done():
            return Problem(
                HTTPStatus.SERVICE_UNAVAILABLE, "The projector loop has stopped.", slug="not-alive"
            ).response()
        stalled = projector.status.stalled_for()
        if stalled > settings.projector_stall_seconds:
            return Problem(
                HTTPStatus.SERVICE_UNAVAILABLE,
                f"The projector has made no progress for {stalled:.0f}s "
                f"(phase {projector.status.phase}, last error {projector.status.last_error}).",
                slug="stalled",
            ).response()
        return JSONResponse({"status": "ok", "phase": projector.status.phase})

    @app.get("/readyz", tags=["health"])
    async def readyz() -> JSONResponse:
        status = app.state.projector.status
        try:
            await ping(app.state.database)
        except Exception as error:  # any failure means "not ready"
            log.warning("not ready: %r", error)
            return Problem(
                HTTPStatus.SERVICE_UNAVAILABLE, "MongoDB does not answer.", slug="not-ready"
            ).response()
        if status.phase != "following":
            return Problem(
                HTTPStatus.SERVICE_UNAVAILABLE,
                f"The projector is {status.phase}.",
                slug="not-ready",
            ).response()
        lag = app.state.projector.metrics.lag.seconds()
        if lag > settings.projector_max_lag_seconds:
            return Problem(
                HTTPStatus.SERVICE_UNAVAILABLE,
                f"The read models are {lag:.1f}s behind the write model "
                f"(PROJECTOR_MAX_LAG_SECONDS is {settings.projector_max_lag_seconds:g}).",
                slug="lagging",
            ).response()
        return JSONResponse(
            {"status": "ready", "changes_applied": status.changes_applied, "lag_seconds": lag}
        )

    @app.get("/metrics", tags=["metrics"], response_class=Response)
    async def metrics(request: Request) -> Response:
        return await metrics_response(app.state.projector, app.state.database, request)

    return app
