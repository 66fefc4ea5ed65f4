"""The projector loop: read a batch of changes, apply it, checkpoint, repeat.

Effects are written before the checkpoint, so a crash between the two replays the batch, which
the idempotent projections make harmless. Any error reopens the stream from the checkpoint after
a backoff; a checkpoint the stream can no longer reach (error 286) triggers a full rebuild.
"""

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.errors import OperationFailure
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from query_service.projector.checkpoints import (
    Checkpoint,
    delete_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from query_service.projector.context import ProjectionContext
from query_service.projector.projections import apply_change
from query_service.projector.projections.counters import recount
from query_service.projector.rebuild import rebuild_read_models
from query_service.read_models.collections import ensure_read_model_indexes
from service_kit.mongo import Database
from service_kit.retries import log_retry
from service_kit.settings import Settings
from service_kit.write_model import COLLECTIONS

log = logging.getLogger(__name__)

CHANGE_STREAM_HISTORY_LOST = 286
# One database-level stream over the write model: one resume token orders all of it.
WRITE_MODEL_CHANGES = [{"$match": {"ns.coll": {"$in": list(COLLECTIONS)}}}]
IDLE_CHECKPOINT_SECONDS = 5.0

Change = dict[str, Any]
Stream = AsyncChangeStream[Change]


@dataclass
class ProjectorStatus:
    """What the health endpoints and logs report about the loop."""

    phase: str = "starting"  # starting | rebuilding | following | retrying | stopped
    changes_applied: int = 0
    last_progress_monotonic: float | None = None
    last_error: str | None = None
    started_monotonic: float = field(default_factory=time.monotonic)


class ChangeStreamHistoryLost(Exception):
    pass


class Projector:
    def __init__(self, database: Database, settings: Settings) -> None:
        self._database = database
        self._batch_size = settings.projector_batch_size
        self._max_await_ms = settings.projector_max_await_ms
        self._context = ProjectionContext(
            database=database,
            backfill_limit=settings.projector_backfill_limit,
            fanout_chunk=settings.projector_fanout_chunk,
        )
        self.status = ProjectorStatus()
        # The last checkpoint read or written by this process: idle saves compare against it.
        self._saved: Checkpoint | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the write model until `stop` is set; after errors, resume from the checkpoint."""
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(Exception),
            wait=wait_exponential(multiplier=0.5, max=30),
            before_sleep=log_retry("projector", logging.ERROR),
        ):
            with attempt:
                try:
                    await self._follow(stop)
                except Exception as error:
                    self.status.phase, self.status.last_error = "retrying", repr(error)
                    raise
        self.status.phase = "stopped"

    async def catch_up(self, *, max_batches: int | None = None) -> int:
        """Apply every change available now (or `max_batches` batches); return how many changes."""
        applied = batches = 0
        async with await self._open_stream() as stream:
            while max_batches is None or batches < max_batches:
                in_batch = await self._apply_next_batch(stream)
                if not in_batch:
                    await self._save_idle_checkpoint(stream, force=True)
                    break
                applied, batches = applied + in_batch, batches + 1
        return applied

    async def _follow(self, stop: asyncio.Event) -> None:
        await ensure_read_model_indexes(self._database)
        try:
            async with await self._open_stream() as stream:
                self.status.phase = "following"
                while not stop.is_set():
                    if not await self._apply_next_batch(stream):
                        await self._save_idle_checkpoint(stream)
        except ChangeStreamHistoryLost:
            log.error("the checkpoint is older than the change history; rebuilding the read models")
            await delete_checkpoint(self._database)
            raise

    async def _open_stream(self) -> Stream:
        start = await load_checkpoint(self._database) or await self._rebuild()
        self._saved = start
        try:
            return await self._watch(resume_after=start.resume_token)
        except OperationFailure as error:
            raise _translated(error) from error

    async def _watch(self, **options: Any) -> Stream:
        return await self._database.watch(
            WRITE_MODEL_CHANGES,
            full_document="updateLookup",
            max_await_time_ms=self._max_await_ms,
            batch_size=self._batch_size,
            **options,
        )

    async def _rebuild(self) -> Checkpoint:
        """Rebuild from the write model; checkpoint and return the point to follow changes from."""
        self.status.phase = "rebuilding"
        # Mark the stream's present first: changes after the mark are applied after the rebuild,
        # changes before it are already in the documents the rebuild reads.
        async with await self._watch() as probe:
            while await probe.try_next() is not None:
                pass
            start = probe.resume_token
        if start is None:
            raise RuntimeError(
                "the change stream returned no resume token (MongoDB 4.0.7+ is required)"
            )
        await rebuild_read_models(self._context, self._batch_size)
        checkpoint = Checkpoint(resume_token=dict(start), cluster_time=None)
        await self._save(checkpoint)
        return checkpoint

    async def _apply_next_batch(self, stream: Stream) -> int:
        """Apply changes as they arrive, until the stream is idle or the batch is full; then
        recount what they touched and checkpoint. Returns how many changes were applied."""
        last: Change | None = None
        applied = 0
        # Under steady traffic the stream is never idle, so a batch also closes after max_await.
        closes_at = time.monotonic() + self._max_await_ms / 1000
        try:
            while applied < self._batch_size and (last is None or time.monotonic() < closes_at):
                # Waits up to max_await for a change; only the checkpoint waits for the batch.
                change = await stream.try_next()
                if change is None:
                    break
                if change["operationType"] == "invalidate":
                    raise ChangeStreamHistoryLost("the change stream was invalidated")
                await apply_change(self._context, change)
                last, applied = change, applied + 1
        except OperationFailure as error:
            raise _translated(error) from error
        if last is None:
            return 0
        await recount(self._context)
        # Only now, with every effect written, may the checkpoint move past the batch.
        checkpoint = Checkpoint(
            resume_token=dict(last["_id"]), cluster_time=last.get("clusterTime")
        )
        await self._save(checkpoint)
        self.status.changes_applied += applied
        self.status.last_progress_monotonic = time.monotonic()
        return applied

    async def _save_idle_checkpoint(self, stream: Stream, *, force: bool = False) -> None:
        """While idle, keep the token fresh (it advances past filtered changes) but write rarely."""
        token = stream.resume_token
        if token is None:
            return
        last = self.status.last_progress_monotonic or self.status.started_monotonic
        if force or time.monotonic() - last >= IDLE_CHECKPOINT_SECONDS:
            if self._saved is None or self._saved.resume_token != token:
                cluster_time = self._saved.cluster_time if self._saved else None
                await self._save(Checkpoint(resume_token=dict(token), cluster_time=cluster_time))
            self.status.last_progress_monotonic = time.monotonic()

    async def _save(self, checkpoint: Checkpoint) -> None:
        await save_checkpoint(self._database, checkpoint)
        self._saved = checkpoint


def _translated(error: OperationFailure) -> Exception:
    if error.code == CHANGE_STREAM_HISTORY_LOST:
        return ChangeStreamHistoryLost(str(error))
    return error
