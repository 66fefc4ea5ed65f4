"""The projector as a process: the loop in the background, health and metrics endpoints in front.

`/healthz` fails once the loop has died or has made no progress for `PROJECTOR_STALL_SECONDS`
while it is not idle (so Kubernetes restarts the pod); `/readyz` also needs MongoDB to answer, the
loop to be following the stream rather than rebuilding or retrying, and the lag to be at most
`PROJECTOR_MAX_LAG_SECONDS`. `/metrics` is the Prometheus exposition (`metrics.py`).

With leader election (`PROJECTOR_LEADER_ELECTION`), a standby replica is ready: it is healthy and
waiting to take over, and a rollout must be able to count it as available. Its liveness is
watching the lease: `/healthz` fails only when it has not read the lease for the stall time.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from query_service.projector.leadership import LeaderElection, fenced, leader_election
from query_service.projector.metrics import scrape
from query_service.projector.runner import Projector, run_while_leading
from service_kit.mongo import Database, MongoConnection, connect, ping
from service_kit.observability.metrics import Telemetry
from service_kit.observability.requests import instrument
from service_kit.problems import Problem, install_problem_handlers
from service_kit.settings import Settings

log = logging.getLogger(__name__)
SHUTDOWN_SECONDS = 20.0


@asynccontextmanager
async def running_projector(
    projector: Projector, election: LeaderElection | None = None
) -> AsyncIterator[asyncio.Task[None]]:
    """Run the loop for the duration of the block (only while leading, with an election); on
    exit let the current batch finish."""
    stop = asyncio.Event()
    loop = projector.run(stop) if election is None else run_while_leading(projector, election, stop)
    task = asyncio.create_task(loop, name="projector")
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


async def metrics_response(
    projector: Projector, database: Database, request: Request, telemetry: Telemetry
) -> Response:
    """A `/metrics` answer for a projector and its process: also served by the embedded gateway."""
    body, content_type = await scrape(
        projector.metrics, database, request.headers.get("accept", ""), telemetry
    )
    return Response(body, headers={"Content-Type": content_type})


def create_projector_app(settings: Settings, connection: MongoConnection | None = None) -> FastAPI:
    telemetry = connection.telemetry if connection is not None else Telemetry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        active = connection or connect(settings, telemetry)
        # The projector's own state (and so its lease) lives with the read models.
        election = leader_election(settings, active.read_database)
        # With an election, every write of the projector passes the lease's fence.
        read_database = (
            active.read_database
            if election is None
            else fenced(active.read_database, election.fence)
        )
        projector = Projector(active.database, settings, read_database)
        app.state.databases = {active.database, active.read_database}
        app.state.read_database = active.read_database
        app.state.projector = projector
        app.state.election = election
        async with running_projector(projector, election) as task:
            app.state.task = task
            yield
        if connection is None:
            await active.close()

    app = FastAPI(title="microblog projector", lifespan=lifespan)
    app.state.settings = settings
    install_problem_handlers(app)
    instrument(app, service="projector", telemetry=telemetry)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> JSONResponse:
        task: asyncio.Task[None] = app.state.task
        projector: Projector = app.state.projector
        election: LeaderElection | None = app.state.election
        if task.done():
            return Problem(
                HTTPStatus.SERVICE_UNAVAILABLE, "The projector loop has stopped.", slug="not-alive"
            ).response()
        stalled = projector.status.stalled_for()
        if election is not None and not election.leading:
            stalled = election.stalled_for()  # a standby's work is watching the lease
        if stalled > settings.projector_stall_seconds:
            return Problem(
                HTTPStatus.SERVICE_UNAVAILABLE,
                f"The projector has made no progress for {stalled:.0f}s "
                f"(phase {projector.status.phase}, last error {projector.status.last_error}).",
                slug="stalled",
            ).response()
        return JSONResponse(
            {"status": "ok", "phase": projector.status.phase} | leadership(election)
        )

    @app.get("/readyz", tags=["health"])
    async def readyz() -> JSONResponse:
        status = app.state.projector.status
        election: LeaderElection | None = app.state.election
        try:
            for database in app.state.databases:
                await ping(database)
        except Exception as error:  # any failure means "not ready"
            log.warning("not ready: %r", error)
            return Problem(
                HTTPStatus.SERVICE_UNAVAILABLE, "MongoDB does not answer.", slug="not-ready"
            ).response()
        if status.phase not in ("following", "standby"):
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
            | leadership(election)
        )

    @app.get("/metrics", tags=["metrics"], response_class=Response)
    async def metrics(request: Request) -> Response:
        return await metrics_response(
            app.state.projector, app.state.read_database, request, telemetry
        )

    return app


def leadership(election: LeaderElection | None) -> dict[str, object]:
    """What health answers say about the election: this replica's role and who holds the lease."""
    if election is None:
        return {"role": "leader", "election": "none"}
    observed = election.observed
    return {
        "role": "leader" if election.leading else "standby",
        "identity": election.identity,
        "holder": observed.holder if observed else None,
        "terms": election.terms,
    }
