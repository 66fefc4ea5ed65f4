"""The projector loop: read a batch of changes, apply it, checkpoint, repeat.

Effects are written before the checkpoint, so a crash between the two replays the batch, which
the projections make harmless (see `projection.py`). Errors reopen the stream from the checkpoint
after a backoff. A checkpoint the history no longer reaches, a dropped write-model collection or an
operator's request rebuilds the read models into shadows swapped in at the end (`rebuild.py`);
a rebuild that fails leaves the live read models as they were and is retried with backoff.
With several replicas, `run_while_leading` runs the loop only while this one holds the lease.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bson.timestamp import Timestamp
from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.errors import OperationFailure
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from query_service.projector import control, dead_letters, observing, rebuild
from query_service.projector.applying import STREAM_ENDING, ChangeApplier, WriteModelReset
from query_service.projector.checkpoints import Checkpoint, load_checkpoint, save_checkpoint
from query_service.projector.lanes import InOrder, Lanes, scopes_of
from query_service.projector.leadership import LeaderElection
from query_service.projector.metrics import Lag, ProjectorMetrics
from query_service.projector.projection import Change, ProjectionContext, ProjectionSettings
from query_service.projector.rebuild import RebuildFailed
from query_service.read_models import counters
from query_service.read_models.registry import ensure_read_model_indexes
from service_kit.mongo import Database
from service_kit.retries import log_retry
from service_kit.settings import Settings
from service_kit.write_model import COLLECTIONS

log = logging.getLogger(__name__)

CHANGE_STREAM_HISTORY_LOST = 286
# One database-level stream over the write model: one resume token orders all of it. Events that
# void the whole database carry no collection name, so they are let through explicitly.
WRITE_MODEL_CHANGES = [
    {
        "$match": {
            "$or": [
                {"ns.coll": {"$in": list(COLLECTIONS)}},
                {"operationType": {"$in": ["dropDatabase", "invalidate"]}},
            ]
        }
    }
]
IDLE_CHECKPOINT_SECONDS = 5.0
CONTROL_POLL_SECONDS = 1.0

Stream = AsyncChangeStream[Change]


@dataclass
class ProjectorStatus:
    """What the health endpoints, the logs and the admin command report about the loop."""

    # starting | rebuilding | following | retrying | rebuild-failed | standby | stopped
    phase: str = "starting"
    changes_applied: int = 0
    rebuilds: int = 0
    rebuild_stage: str | None = None
    rebuild_replayed: int = 0
    rebuild_total: int = 0
    last_error: str | None = None
    started_monotonic: float = field(default_factory=time.monotonic)
    # Moves whenever the loop shows it is not stuck: a change applied, the stream found idle, a
    # rebuild step done. `/healthz` fails when it stands still for too long.
    last_progress_monotonic: float = field(default_factory=time.monotonic)

    def progressed(self) -> None:
        self.last_progress_monotonic = time.monotonic()

    def stalled_for(self) -> float:
        return time.monotonic() - self.last_progress_monotonic


class ChangeStreamHistoryLost(Exception):
    pass


async def run_while_leading(
    projector: "Projector", election: LeaderElection, stop: asyncio.Event
) -> None:
    """Follow the stream only while this replica holds the lease; otherwise stand by.

    Losing the lease closes the fence of the projector's database (built with
    `leadership.fenced`), so no write is sent after the deadline, and cancels the loop at its
    next await; the stream is closed as the loop unwinds. `stop` ends the current batch, then
    releases the lease so a standby takes over at once."""

    async def lead(resign: asyncio.Event) -> None:
        projector.status.progressed()  # a new term: its stall clock starts now
        try:
            await projector.run(resign)
        finally:
            projector.status.phase = "standby"

    projector.status.phase = "standby"
    try:
        await election.run(lead, stop)
    finally:
        projector.status.phase = "stopped"


class Projector:
    """Follows `write_database`'s changes into the read models of `read_database` (by default the
    same database), where it also keeps its checkpoint, dead letters and control documents."""

    def __init__(
        self, write_database: Database, settings: Settings, read_database: Database | None = None
    ) -> None:
        self._write = write_database
        database = self._database = read_database if read_database is not None else write_database
        self._batch_size = settings.projector_batch_size
        self._concurrency = settings.projector_concurrency
        self._max_await_ms = settings.projector_max_await_ms
        self.metrics = ProjectorMetrics()
        self._context = ProjectionContext(
            database=database,
            settings=ProjectionSettings(
                backfill_limit=settings.projector_backfill_limit,
                fanout_chunk=settings.projector_fanout_chunk,
                fanout_max_followers=settings.fanout_max_followers,
                timeline_max_entries=settings.timeline_max_entries,
            ),
            on_fanout=self.metrics.fanned_out,
        )
        self._applier = ChangeApplier(
            attempts=settings.projector_poison_attempts,
            backoff_seconds=settings.projector_poison_backoff_ms / 1000,
            on_parked=lambda _: self.metrics.dead_letters.inc(),
        )
        self.status = ProjectorStatus()
        # The last checkpoint read or written by this process: idle saves compare against it.
        self._saved: Checkpoint | None = None
        self._last_save_monotonic = 0.0
        self._last_control_poll = 0.0
        # The cluster time of the last change a batch applied (to the live or the shadow models).
        self._last_applied_time: Timestamp | None = None

    @property
    def dead_letters_parked(self) -> int:
        return self._applier.parked

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the write model until `stop` is set; after errors, resume from the checkpoint."""

        async def backoff(seconds: float) -> None:  # ends early when asked to stop
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), seconds)

        self.metrics.set_leader(True)  # leader election, when on, runs this only while leading
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(Exception),
                wait=wait_exponential(multiplier=0.5, max=30),
                stop=lambda _: stop.is_set(),
                sleep=backoff,
                reraise=True,
                before_sleep=log_retry("projector", logging.ERROR),
            ):
                with attempt:
                    try:
                        await self._follow(stop)
                    except Exception as error:
                        if self.status.phase != "rebuild-failed":
                            self.status.phase, self.status.last_error = "retrying", repr(error)
                        raise
        except Exception:
            if not stop.is_set():
                raise
        finally:
            self.metrics.set_leader(False)
        self.status.phase = "stopped"

    async def catch_up(self, *, max_batches: int | None = None) -> int:
        """Apply every change available now (or `max_batches` batches); return how many changes.
        Serves pending operator requests first, as the loop does between batches."""
        applied = batches = 0
        stream = await self._serve_requests(await self._open_stream(), force=True)
        try:
            while max_batches is None or batches < max_batches:
                try:
                    in_batch = await self._apply_next_batch(stream, self._context)
                except (WriteModelReset, ChangeStreamHistoryLost) as reason:
                    stream = await self._restart_with_rebuild(stream, str(reason))
                    continue
                if not in_batch:
                    await self._save_idle_checkpoint(stream, force=True)
                    break
                applied, batches = applied + in_batch, batches + 1
        finally:
            await stream.close()
        return applied

    async def _follow(self, stop: asyncio.Event) -> None:
        await ensure_read_model_indexes(self._database)
        await dead_letters.ensure_dead_letter_indexes(self._database)
        stream = await self._open_stream()
        try:
            self.status.phase = "following"
            while not stop.is_set():
                try:
                    if not await self._apply_next_batch(stream, self._context):
                        await self._save_idle_checkpoint(stream)
                except (WriteModelReset, ChangeStreamHistoryLost) as reason:
                    stream = await self._restart_with_rebuild(stream, str(reason))
                stream = await self._serve_requests(stream)
                self.status.phase = "following"
        finally:
            await stream.close()

    async def _open_stream(self) -> Stream:
        checkpoint = await load_checkpoint(self._database)
        if checkpoint is None:
            return await self._rebuild("there is no checkpoint")
        try:
            stream = await self._watch(resume_after=checkpoint.resume_token)
        except OperationFailure as error:
            if error.code != CHANGE_STREAM_HISTORY_LOST:
                raise
            return await self._rebuild("the checkpoint is older than the change history")
        self._saved = checkpoint
        return stream

    async def _restart_with_rebuild(self, stream: Stream, reason: str) -> Stream:
        await stream.close()
        return await self._rebuild(reason)

    async def _watch(self, **options: Any) -> Stream:
        return await self._write.watch(
            WRITE_MODEL_CHANGES,
            full_document="updateLookup",
            max_await_time_ms=self._max_await_ms,
            batch_size=self._batch_size,
            **options,
        )

    async def _rebuild(self, reason: str) -> Stream:
        """Rebuild into shadows, catch them up, swap them in; return the stream to follow."""
        log.warning("rebuilding the read models: %s", reason)
        self.status.phase, self.status.rebuilds = "rebuilding", self.status.rebuilds + 1
        self.metrics.lag.rebuilding()
        await control.report_rebuild(
            self._database, state="running", reason=reason, stage="starting", error=None
        )
        try:
            stream = await self._build_and_swap()
        except Exception as error:
            # The live read models were never touched; the loop retries with backoff.
            self.metrics.rebuilds.labels(outcome="failed").inc()
            await rebuild.drop_shadows(self._database)
            await control.report_rebuild(self._database, state="failed", error=repr(error))
            self.status.phase, self.status.last_error = "rebuild-failed", str(error)
            raise
        await control.report_rebuild(self._database, state="done", stage="swapped in")
        self.metrics.rebuilds.labels(outcome="done").inc()
        self.metrics.lag.idle()  # the shadows were caught up with the stream before the swap
        log.warning("rebuild done: the new read models are live")
        return stream

    async def _build_and_swap(self) -> Stream:
        database = self._database
        # The stream's clock: the write model's deployment, which may not be the read models'.
        mark = await rebuild.operation_time(self._write)
        shadow = ProjectionContext(
            database,
            self._context.settings,
            prefix=rebuild.SHADOW_PREFIX,
            stub_counters=True,
            on_fanout=self.metrics.fanned_out,
        )
        await rebuild.prepare_shadows(database)
        await rebuild.replay_write_model(
            shadow, self._write, self._applier.apply, self._batch_size, self._report_progress
        )
        present = await rebuild.operation_time(self._write)
        status = self.status
        await self._report_progress(
            "catching up with changes made meanwhile", status.rebuild_replayed, status.rebuild_total
        )
        try:
            stream = await self._watch(start_at_operation_time=mark)
            last_time = await self._catch_up(stream, shadow, until=present)
        except (OperationFailure, ChangeStreamHistoryLost) as error:
            if isinstance(error, OperationFailure) and error.code != CHANGE_STREAM_HISTORY_LOST:
                raise
            raise RebuildFailed(
                "the change history no longer reaches the rebuild's start (its own writes may "
                "have pushed it out): the live read models are kept; retrying with backoff. "
                "A larger oplog (or EMBEDDED_CHANGE_HISTORY) makes room for it."
            ) from error
        await rebuild.drop_counter_stubs(shadow)
        await rebuild.finish_rebuild(shadow)
        await rebuild.swap_in(database)
        token = stream.resume_token
        if token is None:
            raise RebuildFailed("the change stream returned no resume token")
        await self._save(Checkpoint(resume_token=dict(token), cluster_time=last_time or mark))
        return stream

    async def _catch_up(
        self, stream: Stream, shadow: ProjectionContext, until: Timestamp
    ) -> Timestamp | None:
        """Apply changes to the shadows until the stream is idle or has passed `until`."""
        last_time: Timestamp | None = None
        while await self._apply_next_batch(stream, shadow, checkpoint=False):
            last_time = self._last_applied_time
            if last_time is not None and last_time >= until:
                break
        return last_time

    async def _report_progress(self, stage: str, replayed: int, total: int) -> None:
        status = self.status
        status.rebuild_stage, status.rebuild_replayed, status.rebuild_total = stage, replayed, total
        status.progressed()
        log.info("rebuild: %s (%d of %d)", stage, replayed, total)
        await control.report_rebuild(self._database, stage=stage, replayed=replayed, total=total)

    async def _apply_next_batch(
        self, stream: Stream, context: ProjectionContext, *, checkpoint: bool = True
    ) -> int:
        """Apply changes as they arrive, until the stream is idle or the batch is full; then
        finish the batch and checkpoint. Returns how many changes were applied.

        Changes are applied in lanes (`lanes.py`): each starts as soon as the earlier changes it
        depends on are applied, up to PROJECTOR_CONCURRENCY at once, while reading goes on."""
        last: Change | None = None
        applied = 0
        drained = False  # a read came back empty: nothing is waiting
        # Only the live read models' lag is measured, not a rebuild's shadows'.
        lag = self.metrics.lag if context is self._context else Lag()
        # Under steady traffic the stream is never idle, so a batch also closes after max_await.
        closes_at = time.monotonic() + self._max_await_ms / 1000
        started = 0.0
        lanes = Lanes(self._concurrency)
        in_order = InOrder(lag)
        report = observing.BatchReport(rebuild=context is not self._context)
        try:
            while applied < self._batch_size and (last is None or time.monotonic() < closes_at):
                change = await self._next_change(stream)
                if change is None:
                    drained = True
                    break
                started = started or time.monotonic()
                lag.read(change)
                report.read(change)
                if change["operationType"] in STREAM_ENDING:
                    await lanes.drain()  # in order: what came before it is applied first
                    await self._applier.apply(context, change)  # raises WriteModelReset
                lanes.submit(
                    scopes_of(change), in_order.add(change, self._apply_one(context, change))
                )
                last, applied = change, applied + 1
            await lanes.drain()
        except BaseException:
            await lanes.cancel()  # a failure, a rebuild, a kill or a lost lease: no lane goes on
            raise
        if last is None:
            self.status.progressed()  # idle: nothing is waiting
            lag.idle()
            return 0
        await rebuild.finish_batch(context)
        self._last_applied_time = last.get("clusterTime")
        if checkpoint:
            # Only now, with every effect written, may the checkpoint move past the batch.
            await self._save(
                Checkpoint(resume_token=dict(last["_id"]), cluster_time=last.get("clusterTime"))
            )
        self.status.changes_applied += applied
        seconds = time.monotonic() - started
        self.metrics.batch_seconds.observe(seconds)
        if drained:
            lag.idle()
        report.done(applied=applied, seconds=seconds, lag_seconds=lag.seconds())
        return applied

    def _apply_one(
        self, context: ProjectionContext, change: Change
    ) -> Callable[[], Awaitable[None]]:
        """How `change`, just read from the stream, is applied once its lane lets it."""
        read_at = observing.now_ns()
        live = context is self._context

        async def apply() -> None:
            with observing.applying(change, read_at):  # the write's trace continues here
                applied = await self._applier.apply(context, change)
            if applied:
                self.metrics.applied(change)
                if live:
                    self.metrics.visible(change)
            self.status.progressed()

        return apply

    async def _next_change(self, stream: Stream) -> Change | None:
        """Waits up to max_await for a change."""
        try:
            return await stream.try_next()
        except OperationFailure as error:
            if error.code == CHANGE_STREAM_HISTORY_LOST:
                raise ChangeStreamHistoryLost(str(error)) from error
            raise

    async def _serve_requests(self, stream: Stream, *, force: bool = False) -> Stream:
        """Between batches: an operator's rebuild request, and parked changes to replay."""
        now = time.monotonic()
        if not force and now - self._last_control_poll < CONTROL_POLL_SECONDS:
            return stream
        self._last_control_poll = now
        for letter in await dead_letters.replay_requests(self._database):
            await self._replay_parked(letter)
        if await control.rebuild_pending(self._database):
            stream = await self._restart_with_rebuild(stream, "an operator asked for it")
        return stream

    async def _replay_parked(self, letter: dict[str, Any]) -> None:
        """Apply a parked change again, against its document's current state (it may have
        changed since: an old insert must not bring back a post deleted meanwhile).

        Long after its batch, its counter marks may be gone, and it may have failed between a
        counter and its membership: every counter it touches is recounted exactly instead."""
        change = await self._with_current_document(letter["change"])
        context = replace(self._context, recounted=set())
        try:
            await self._applier.apply_with_retries(context, change)
            await counters.recount(context, context.recounted or ())
            await rebuild.finish_batch(context)
        except Exception as error:
            log.error("replaying parked change %s failed again: %r", letter["_id"], error)
            await dead_letters.replay_failed(
                self._database, letter["_id"], error, self._applier.attempts
            )
            return
        self.metrics.applied(change)
        await dead_letters.replayed(self._database, letter["_id"])
        log.info("replayed parked change %s", letter["_id"])

    async def _with_current_document(self, change: Change) -> Change:
        if change["operationType"] == "delete":
            return change
        key = change["documentKey"]["_id"]
        current = await self._write[change["ns"]["coll"]].find_one({"_id": key})
        operation = change["operationType"] if current is not None else "delete"
        return {**change, "operationType": operation, "fullDocument": current}

    async def _save_idle_checkpoint(self, stream: Stream, *, force: bool = False) -> None:
        """While idle, keep the token fresh (it advances past filtered changes) but write rarely."""
        token = stream.resume_token
        if token is None:
            return
        saved = self._saved
        if saved is not None and saved.resume_token == token:
            return
        if force or saved is None or self._idle_save_due():
            cluster_time = saved.cluster_time if saved else None
            await self._save(Checkpoint(resume_token=dict(token), cluster_time=cluster_time))

    def _idle_save_due(self) -> bool:
        return time.monotonic() - self._last_save_monotonic >= IDLE_CHECKPOINT_SECONDS

    async def _save(self, checkpoint: Checkpoint) -> None:
        await save_checkpoint(self._database, checkpoint)
        self._saved = checkpoint
        self._last_save_monotonic = time.monotonic()
