"""The one place a change is applied, and where its failures are handled.

- Events that end or void the stream (`invalidate`, `drop`, `rename`, `dropDatabase`) mean the
  write model changed under the read models: `WriteModelReset` tells the loop to rebuild.
- Infrastructure errors (MongoDB unreachable, a primary stepping down) propagate: the loop reopens
  the stream from its checkpoint with backoff; the change itself is fine.
- Any other error is retried with backoff a bounded number of times, then the change is parked in
  the dead letters and the stream moves on.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from pymongo.errors import (
    ConnectionFailure,
    ExecutionTimeout,
    OperationFailure,
    WaitQueueTimeoutError,
)
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from query_service.projector import dead_letters
from query_service.projector.leadership.election import LeadershipLost
from query_service.projector.projection import Change, ProjectionContext
from query_service.read_models.registry import projections_of

log = logging.getLogger(__name__)

STREAM_ENDING: Final = frozenset({"invalidate", "drop", "rename", "dropDatabase"})
# Server errors that say "not now" rather than "not this change" (NotWritablePrimary,
# InterruptedAtShutdown, PrimarySteppedDown, ShutdownInProgress, NotPrimaryNoSecondaryOk, ...).
TRANSIENT_SERVER_CODES: Final = frozenset({91, 189, 10107, 11600, 11602, 13435, 13436})


class WriteModelReset(Exception):
    """The stream reported a drop, rename or invalidation: the read models must be rebuilt."""


def is_infrastructure_error(error: BaseException) -> bool:
    # LeadershipLost: a write refused after the lease deadline; nothing is wrong with the change.
    if isinstance(
        error, ConnectionFailure | ExecutionTimeout | WaitQueueTimeoutError | LeadershipLost
    ):
        return True
    if isinstance(error, OperationFailure):
        return error.code in TRANSIENT_SERVER_CODES or error.has_error_label("RetryableWriteError")
    return False


def worth_retrying(error: BaseException) -> bool:
    """The change's own failures; never a cancellation (tenacity would swallow it and run the
    handler again, so a projector shutting down or losing its lease could not stop)."""
    return isinstance(error, Exception) and not is_infrastructure_error(error)


@dataclass
class ChangeApplier:
    attempts: int
    backoff_seconds: float
    parked: int = 0
    # Told of every change parked (the metrics).
    on_parked: Callable[[Change], None] = lambda change: None

    async def apply(self, context: ProjectionContext, change: Change) -> bool:
        """Apply a change to every projection that consumes it (True), or park it (False)."""
        operation = change["operationType"]
        if operation in STREAM_ENDING:
            raise WriteModelReset(f"{operation} on {change.get('ns')}")
        try:
            await self.apply_with_retries(context, change)
        except Exception as error:
            if is_infrastructure_error(error):
                raise
            log.error(
                "parking change %s (%s on %s) after %d attempts: %r",
                dead_letters.dead_letter_id(change),
                operation,
                change.get("ns"),
                self.attempts,
                error,
            )
            await dead_letters.park(context.database, change, error, self.attempts)
            self.parked += 1
            self.on_parked(change)
            return False
        return True

    async def apply_with_retries(self, context: ProjectionContext, change: Change) -> None:
        """Every projection handler is idempotent, so a failed attempt is simply run again."""
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff_seconds, max=10),
            # Never a cancellation (a BaseException): retrying it would swallow it.
            retry=retry_if_exception(worth_retrying),
            reraise=True,
        ):
            with attempt:
                for projection in projections_of(change["ns"]["coll"]):
                    await projection.apply(context, change)
