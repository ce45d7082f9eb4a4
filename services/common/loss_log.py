"""A dependency (a database, the ledger) that keeps failing, logged in a few lines rather than one
per failure: the first failure at once, then at most every `every_s` with the count of failures
not logged meanwhile (`suppressed`), and, when it answers again, a line saying so if asked for."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog

LOG_EVERY_S = 5.0  # while the dependency stays away, one log line this often at most


class LossLog:
    """`event` at the first failure; then `again` (`event` unless named) at most every `every_s`
    with `suppressed`, the `failures` since it went away and for how long (`down_s`); `reached()`
    ends the outage (logged as `back` when named) so that the next failure is logged at once."""

    def __init__(self, event: str = "database_unavailable", every_s: float = LOG_EVERY_S,
                 clock: Callable[[], float] = time.monotonic, *, again: str | None = None,
                 back: str | None = None, logger: Any = None) -> None:
        self.event, self.again, self.back = event, again or event, back
        self.every_s, self.clock = every_s, clock
        self.log = logger or structlog.get_logger("tollway.loss")
        self.down_since: float | None = None
        self.logged_at = 0.0
        self.failures = 0  # since it went away
        self.suppressed = 0  # since the last line

    def failed(self, **fields: object) -> None:
        now = self.clock()
        self.failures += 1
        if self.down_since is None:
            self.down_since = self.logged_at = now
            self.log.warning(self.event, suppressed=0, **fields)
        elif now - self.logged_at >= self.every_s:
            self.log.warning(self.again, suppressed=self.suppressed, failures=self.failures,
                             down_s=round(now - self.down_since, 1), **fields)
            self.logged_at, self.suppressed = now, 0
        else:
            self.suppressed += 1

    def reached(self) -> None:
        """It answered: the outage is over, and the next failure is logged at once."""
        if self.down_since is None:
            return
        if self.back is not None:
            self.log.info(self.back, suppressed=self.suppressed, failures=self.failures,
                          down_s=round(self.clock() - self.down_since, 1))
        self.down_since, self.failures, self.suppressed = None, 0, 0
