"""A sliding window of outcomes per provider: the last `window_s` seconds, at most `max_samples`
each (the newest kept). P95 is nearest-rank over the successful outcomes' latencies; the success
rate and the sample size count every outcome in the window.

Time is a number of seconds passed in (from the router's clock), so tests move it by hand.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from typing import NamedTuple

from services.common.selection.observed import ProviderStats


class Outcome(NamedTuple):
    """A named tuple: a router takes thousands a second (half the cost of a frozen dataclass)."""

    provider: str
    at: float  # seconds since the epoch
    latency_ms: float
    success: bool


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]


class OutcomeWindow:
    def __init__(self, window_s: float, max_samples: int) -> None:
        self.window_s = window_s
        self.max_samples = max_samples
        self._by_provider: dict[str, deque[Outcome]] = {}
        self._stats: dict[str, ProviderStats] = {}
        self._dirty: set[str] = set()

    def add(self, outcome: Outcome) -> None:
        self.add_many((outcome,))

    def add_many(self, outcomes: Iterable[Outcome]) -> None:
        """Kept in arrival order: an outcome reported a little late expires with its neighbours."""
        by_provider, dirty = self._by_provider, self._dirty
        for outcome in outcomes:
            samples = by_provider.get(outcome.provider)
            if samples is None:
                samples = by_provider[outcome.provider] = deque(maxlen=self.max_samples)
            samples.append(outcome)
            dirty.add(outcome.provider)

    def _expire(self, now: float) -> None:
        horizon = now - self.window_s
        for name, samples in self._by_provider.items():
            if samples and samples[0].at < horizon:
                while samples and samples[0].at < horizon:
                    samples.popleft()
                self._dirty.add(name)

    def stats(self, now: float) -> dict[str, ProviderStats]:
        """Per-provider stats over the window ending at `now` (recomputed only where changed)."""
        self._expire(now)
        for name in self._dirty:
            samples = self._by_provider.get(name)
            if not samples:
                self._stats.pop(name, None)
                self._by_provider.pop(name, None)
                continue
            ok = [o.latency_ms for o in samples if o.success]
            self._stats[name] = ProviderStats(p95(ok), len(ok) / len(samples), len(samples))
        self._dirty.clear()
        return dict(self._stats)
