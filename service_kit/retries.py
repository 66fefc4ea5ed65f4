"""Log lines for tenacity's retries that say what is retried, why, and when the next try is."""

import logging
from collections.abc import Callable

from tenacity import RetryCallState

log = logging.getLogger("microblog.retries")


def log_retry(what: str, level: int) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        log.log(
            level,
            "%s failed (attempt %d): %r; retrying in %.1f s",
            what,
            state.attempt_number,
            error,
            delay,
            exc_info=error if level >= logging.ERROR else None,
        )

    return before_sleep
