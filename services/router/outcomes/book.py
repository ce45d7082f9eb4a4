"""The router's record of outcomes: reports go to the log (SQLite or PostgreSQL) and the sliding window;
`publish` turns the window into the `observed` stats of the registry snapshot, at most once per
call, moving the stats epoch only when the stats changed. A restarted router rebuilds its
window from the log (persisted, not re-learned)."""

from __future__ import annotations

from collections.abc import Iterable

from services.common.clock import Clock
from services.common.outcome_window import Outcome, OutcomeWindow
from services.common.selection.observed import Observed
from services.router.store.base import OutcomeLog


class OutcomeBook:
    def __init__(self, log: OutcomeLog, clock: Clock, *, window_s: float, max_samples: int,
                 min_samples: int, success_floor: float) -> None:
        self.log = log
        self.clock = clock
        self.window = OutcomeWindow(window_s, max_samples)
        self.policy = Observed(window_s, min_samples, success_floor)
        self.observed = self.policy
        self.epoch = 0
        self.received = 0

    def now(self) -> float:
        return self.clock.now().timestamp()

    async def open(self) -> None:
        await self.log.open()
        self.epoch = await self.log.epoch()
        self.window.add_many(await self.log.since(self.now() - self.window.window_s))
        self.observed = self._current()

    async def close(self) -> None:
        await self.log.close()

    async def record(self, outcomes: Iterable[Outcome]) -> int:
        """Keep the outcomes inside the window (logged as one batch); how many were kept."""
        horizon = self.now() - self.window.window_s
        fresh = [o for o in outcomes if o.at >= horizon]
        if fresh:
            await self.log.append(fresh)
            self.window.add_many(fresh)
            self.received += len(fresh)
        return len(fresh)

    def _current(self) -> Observed:
        stats = self.window.stats(self.now())
        p = self.policy
        return Observed(p.window_s, p.min_samples, p.success_floor, stats)

    async def publish(self) -> bool:
        """Recompute the stats; True (and a new epoch) when they changed."""
        current = self._current()
        if current == self.observed:
            return False
        self.observed = current
        self.epoch = await self.log.bump_epoch()
        await self.log.prune(self.now() - self.window.window_s)
        return True
