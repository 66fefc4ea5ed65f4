"""Time as MongoDB stores it: UTC, millisecond precision.

Clocks of different processes disagree. Tests make that visible with `skewed_clock`, which shifts
the time of the writers running inside it (a context variable, so concurrent writers can each have
their own skew), and `frozen_clock`, which stops it at a given time; nothing that decides what a
read model contains may depend on these times.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

_skew: ContextVar[timedelta] = ContextVar("clock_skew", default=timedelta(0))
_frozen: ContextVar[datetime | None] = ContextVar("clock_frozen", default=None)


def utc_now() -> datetime:
    now = (_frozen.get() or datetime.now(UTC)) + _skew.get()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@contextmanager
def skewed_clock(offset: timedelta) -> Iterator[None]:
    """Run the block as a process whose clock is `offset` away from the others'."""
    reset = _skew.set(offset)
    try:
        yield
    finally:
        _skew.reset(reset)


@contextmanager
def frozen_clock(at: datetime) -> Iterator[None]:
    """Run the block at a fixed time (UTC), so that "the last 24 hours" is the same on every run."""
    reset = _frozen.set(at.astimezone(UTC))
    try:
        yield
    finally:
        _frozen.reset(reset)
