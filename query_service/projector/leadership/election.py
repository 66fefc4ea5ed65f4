"""Leader election over a lease record, with the timing rules of client-go's leaderelection.

One record (a MongoDB document or a Kubernetes `Lease`) names the holder. Every write to it is a
compare-and-swap on the version the writer last read, so of two candidates that saw the same
record only one can write the next one. Clocks of different processes are never compared; each
process times the lease on its own monotonic clock:

- A candidate takes over only after it has itself seen the same version for a full lease
  duration `D` (the first time it saw that version starts the wait: "observe and wait"), unless
  the record is empty (released) or names this process.
- A leader stays leader until `sent + D - R`, where `sent` is when it sent its last successful
  write and `R` the renew interval. Its writes land after `sent`, a candidate sees them no
  earlier than they land, so it waits until at least `sent + D`: the leader stops with at least
  `R` to spare, which absorbs a write already in flight at its deadline.
- The work runs only while leading. At the deadline (or when a renewal finds someone else's
  version) the fence closes first, so any further write of the work is refused, and then the
  work is cancelled at its next await.
"""

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from service_kit.clock import utc_now

log = logging.getLogger(__name__)

# A renewal that failed is tried again after this fraction of the renew interval.
RETRY_FRACTION = 0.25
Work = Callable[[asyncio.Event], Coroutine[Any, Any, None]]  # runs until the event is set


@dataclass(frozen=True)
class LeaseRecord:
    holder: str | None  # None once released
    duration_s: float
    transitions: int
    # Opaque, changes with every write: what the compare-and-swap compares. Set by the store.
    version: str = ""
    acquired_at: datetime | None = None
    renewed_at: datetime | None = None  # for people reading the record, never for timing


class LeaseConflict(Exception):
    """Another process wrote the record since this one read it."""


class LeadershipLost(Exception):
    """A write was attempted after this process's lease deadline; it was not sent."""


class LeaseStore(Protocol):
    async def read(self) -> LeaseRecord | None: ...

    async def write(self, expected: LeaseRecord | None, record: LeaseRecord) -> LeaseRecord:
        """Replace `expected` (create when None) by `record`, atomically; return what is stored
        (with its new version). Raise `LeaseConflict` if the stored version is not `expected`'s."""
        ...


def now() -> float:
    """The monotonic clock everything here is timed on (the event loop's, so timeouts agree)."""
    return asyncio.get_running_loop().time()


class Fence:
    """Open while this process may write as leader; checked right before every write."""

    def __init__(self) -> None:
        self.deadline = -math.inf

    def open_until(self, deadline: float) -> None:
        self.deadline = deadline

    def close(self) -> None:
        self.deadline = -math.inf

    def is_open(self) -> bool:
        return now() < self.deadline

    def check(self) -> None:
        if not self.is_open():
            raise LeadershipLost("this process no longer holds the lease")


class LeaderElection:
    def __init__(
        self, store: LeaseStore, identity: str, *, lease_seconds: float, renew_seconds: float
    ) -> None:
        if not 0 < 2 * renew_seconds < lease_seconds:
            raise ValueError("the renew interval must be less than half the lease duration")
        self.identity = identity
        self.lease_seconds = lease_seconds
        self.renew_seconds = renew_seconds
        self.fence = Fence()
        self.observed: LeaseRecord | None = None  # the record as last read or written
        self.terms = 0  # how many times this process became leader
        self._store = store
        self._observed_since = 0.0  # when this process first saw `observed`'s version
        self._last_contact: float | None = None  # last successful read or write of the record
        self._sent = 0.0  # when the last successful write of this leader was sent

    @property
    def leading(self) -> bool:
        return self.fence.is_open()

    def stalled_for(self) -> float:
        """Seconds since the record was last read or written successfully."""
        if self._last_contact is None:
            return 0.0
        return now() - self._last_contact

    async def run(self, work: Work, stop: asyncio.Event) -> None:
        """Campaign; while leading run `work`; stand by again when the lease is lost. When `stop`
        is set, let the work finish (still renewing), then release the lease for a quick
        takeover. Cancelling this releases nothing: a standby then waits out the lease."""
        while not stop.is_set():
            if not await self._campaign(stop):
                return
            await self._lead(work, stop)

    # ---- standing by ---------------------------------------------------------------------------

    async def _campaign(self, stop: asyncio.Event) -> bool:
        while not stop.is_set():
            try:
                if await self._try_acquire():
                    return True
            except Exception as error:  # the store is unreachable: keep trying
                log.warning("leader election: reading the lease failed: %r", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._until_next_attempt())
        return False

    async def _try_acquire(self) -> bool:
        current = await self._store.read()
        self._observe(current)
        if not self._may_take(current):
            return False
        holder = current.holder if current else None
        sent = now()
        try:
            record = await self._store.write(current, self._next_record(current))
        except LeaseConflict:
            return False
        self._won(record, sent)
        self.terms += 1
        log.warning(
            "leader election: %s leads now (was %s, transitions %d)",
            self.identity,
            holder,
            record.transitions,
        )
        return True

    def _observe(self, record: LeaseRecord | None) -> None:
        # Taken after the read returned, so never before the write that produced the version.
        seen = now()
        self._last_contact = seen
        if record is None or self.observed is None or record.version != self.observed.version:
            self.observed, self._observed_since = record, seen

    def _may_take(self, record: LeaseRecord | None) -> bool:
        if record is None or record.holder in (None, self.identity):
            return True
        return now() - self._observed_since >= self._wait_for(record)

    def _wait_for(self, record: LeaseRecord) -> float:
        # The longer of ours and the holder's, should a rollout change the setting.
        return max(self.lease_seconds, record.duration_s)

    def _until_next_attempt(self) -> float:
        record = self.observed
        if record is None or record.holder is None:
            return self.renew_seconds
        expires_in = self._observed_since + self._wait_for(record) - now()
        return max(0.001, min(self.renew_seconds, expires_in))

    def _next_record(self, current: LeaseRecord | None) -> LeaseRecord:
        stamp = utc_now()
        if current is not None and current.holder == self.identity:
            return replace(current, duration_s=self.lease_seconds, renewed_at=stamp)
        transitions = current.transitions + 1 if current is not None else 0
        return LeaseRecord(
            holder=self.identity,
            duration_s=self.lease_seconds,
            transitions=transitions,
            acquired_at=stamp,
            renewed_at=stamp,
        )

    def _won(self, record: LeaseRecord, sent: float) -> None:
        self.observed, self._observed_since = record, now()
        self._last_contact = self._observed_since
        self._sent = sent
        self.fence.open_until(sent + self.lease_seconds - self.renew_seconds)

    # ---- leading -------------------------------------------------------------------------------

    async def _lead(self, work: Work, stop: asyncio.Event) -> None:
        resign = asyncio.Event()
        task = asyncio.create_task(work(resign), name=f"leading as {self.identity}")
        stopping = asyncio.create_task(stop.wait())
        next_renewal = self._sent + self.renew_seconds
        try:
            while not task.done():
                if not self.fence.is_open():
                    log.error("leader election: %s passed its renew deadline", self.identity)
                    break
                if stop.is_set():
                    resign.set()  # finish the current batch; the lease is still renewed
                wake = min(next_renewal, self.fence.deadline)
                waiting = {task} if stop.is_set() else {task, stopping}
                await asyncio.wait(waiting, timeout=max(0.0, wake - now()))
                if task.done() or not self.fence.is_open() or now() < next_renewal:
                    continue
                renewed = await self._renew()
                if renewed is None:
                    log.error("leader election: %s lost the lease to another", self.identity)
                    break
                # After a failed attempt, try again soon, while the deadline leaves time.
                retry = now() + RETRY_FRACTION * self.renew_seconds
                next_renewal = self._sent + self.renew_seconds if renewed else retry
        finally:
            stopping.cancel()
            if not task.done():
                # Lost (or this task is cancelled): refuse writes first, then interrupt the work.
                self.fence.close()
                task.cancel()
                await asyncio.wait({task})  # unlike `await task`, keeps the work's error in it
            leading = self.fence.is_open()
            self.fence.close()
        if leading:  # the work ended by itself: `stop`, or an error
            await self._release()
        error = None if task.cancelled() else task.exception()
        if error is None:
            return
        if not leading:  # it failed while being interrupted: standing by is the answer
            log.warning("leader election: the work ended with %r after the lease was lost", error)
            return
        raise error

    async def _renew(self) -> bool | None:
        """True when renewed, False when it failed (retry), None when someone else holds it."""
        sent = now()
        try:
            async with asyncio.timeout_at(self.fence.deadline):
                record = await self._store.write(self.observed, self._next_record(self.observed))
        except LeaseConflict:
            return None
        except Exception as error:  # includes the timeout: the loop sees the deadline passed
            log.warning("leader election: renewing the lease failed: %r", error)
            return False
        if self.fence.is_open():  # a renewal that returns after the deadline revives nothing
            self._won(record, sent)
        return True

    async def _release(self) -> None:
        """Empty the record so a standby takes over at its next attempt, not after `D`."""
        if self.observed is None:
            return
        released = replace(self.observed, holder=None, renewed_at=utc_now())
        try:
            async with asyncio.timeout(self.renew_seconds):
                self._observe(await self._store.write(self.observed, released))
            log.warning("leader election: %s released the lease", self.identity)
        except Exception as error:  # a standby waits the lease out instead
            log.warning("leader election: releasing the lease failed: %r", error)
