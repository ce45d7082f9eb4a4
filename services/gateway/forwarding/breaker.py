"""A circuit breaker per provider, shared by every request of one gateway process.

closed → open after `failures` consecutive failures, or when the share of failures in the last
`window_s` passes `failure_rate` (once the window holds `min_calls` calls); open → half-open after
`cooldown_s`, when one probe call is let through; half-open → closed when the probe succeeds, back
to open when it fails. Time comes from an injected monotonic clock.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.common.settings import Settings

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
BUCKETS = 10  # the failure-rate window is kept as this many counters, not one entry per call


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    failures: int = 5
    failure_rate: float = 0.5
    window_s: float = 60.0
    min_calls: int = 20
    cooldown_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> BreakerConfig:
        return cls(settings.breaker_failures, settings.breaker_failure_rate, settings.breaker_window_s,
                   settings.breaker_min_calls, settings.breaker_cooldown_s)


class RollingCounts:
    """Calls and failures over the last `window_s`, in BUCKETS slices."""

    def __init__(self, window_s: float) -> None:
        self.slice_s = window_s / BUCKETS
        self._slices: deque[list[int]] = deque()  # [slice number, calls, failures]

    def _trim(self, now: float) -> int:
        current = int(now // self.slice_s)
        while self._slices and self._slices[0][0] <= current - BUCKETS:
            self._slices.popleft()
        return current

    def add(self, now: float, failed: bool) -> None:
        current = self._trim(now)
        if not self._slices or self._slices[-1][0] != current:
            self._slices.append([current, 0, 0])
        self._slices[-1][1] += 1
        self._slices[-1][2] += int(failed)

    def totals(self, now: float) -> tuple[int, int]:
        self._trim(now)
        return sum(s[1] for s in self._slices), sum(s[2] for s in self._slices)

    def clear(self) -> None:
        self._slices.clear()


class CircuitBreaker:
    def __init__(self, config: BreakerConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self.state = CLOSED
        self.consecutive = 0
        self.window = RollingCounts(config.window_s)
        self.opened_at = 0.0
        self.probe_at: float | None = None  # when the half-open probe was let through
        self.why = ""  # what opened it
        self.opened = 0  # how many times it has opened

    def _due(self, now: float) -> bool:
        return now - self.opened_at >= self.config.cooldown_s

    def refusal(self) -> str | None:
        """Why a call would be refused now, or None; changes nothing."""
        now = self.clock()
        if self.state == OPEN and not self._due(now):
            return f"circuit open ({self.why}); next probe in {self.config.cooldown_s - (now - self.opened_at):.1f} s"
        if self.state == HALF_OPEN and self.probe_at is not None and now - self.probe_at < self.config.cooldown_s:
            return f"circuit half-open ({self.why}); its probe call is in flight"
        return None

    def acquire(self) -> bool:
        """Permission for one call. Open and due: turns half-open and this call is the probe."""
        if self.refusal() is not None:
            return False
        if self.state != CLOSED:  # open and due, or a half-open probe that never reported
            self.state = HALF_OPEN
            self.probe_at = self.clock()
        return True

    def record(self, ok: bool) -> None:
        now = self.clock()
        if self.state == HALF_OPEN:
            if ok:
                self._close()
            else:
                self._open(now, "its half-open probe failed")
            return
        if self.state == OPEN:
            return  # a call that started before the circuit opened: it changes nothing
        self.window.add(now, not ok)
        if ok:
            self.consecutive = 0
            return
        self.consecutive += 1
        if self.consecutive >= self.config.failures:
            self._open(now, f"{self.consecutive} consecutive failures")
            return
        calls, failed = self.window.totals(now)
        if calls >= self.config.min_calls and failed / calls > self.config.failure_rate:
            self._open(now, f"{failed} of {calls} calls failed in {self.config.window_s:g} s")

    def _open(self, now: float, why: str) -> None:
        self.state, self.opened_at, self.probe_at, self.why = OPEN, now, None, why
        self.opened += 1

    def _close(self) -> None:
        self.state, self.consecutive, self.probe_at, self.why = CLOSED, 0, None, ""
        self.window.clear()

    def to_json(self) -> dict[str, Any]:
        now = self.clock()
        calls, failed = self.window.totals(now)
        out: dict[str, Any] = {"state": self.state, "consecutive_failures": self.consecutive,
                               "window": {"calls": calls, "failures": failed}, "opened": self.opened}
        if self.state != CLOSED:
            out["reason"] = self.why
            out["open_for_s"] = round(now - self.opened_at, 3)
        if self.state == OPEN:
            out["probe_in_s"] = round(max(self.config.cooldown_s - (now - self.opened_at), 0.0), 3)
        return out


class Breakers:
    """Every provider's breaker in this gateway process, made on first use."""

    def __init__(self, config: BreakerConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self._by_name: dict[str, CircuitBreaker] = {}

    def __getitem__(self, name: str) -> CircuitBreaker:
        breaker = self._by_name.get(name)
        if breaker is None:
            breaker = self._by_name[name] = CircuitBreaker(self.config, self.clock)
        return breaker

    def refusal(self, name: str) -> str | None:
        breaker = self._by_name.get(name)
        return breaker.refusal() if breaker is not None else None

    def unavailable(self) -> dict[str, str]:
        """provider -> why its calls are refused now (what selection leaves out)."""
        return {name: why for name, b in self._by_name.items() if (why := b.refusal()) is not None}

    def to_json(self) -> dict[str, Any]:
        return {name: b.to_json() for name, b in sorted(self._by_name.items())}

    def summary(self) -> dict[str, Any]:
        """For /health: how many circuits are in each state, and which are not closed."""
        states = [b.state for b in self._by_name.values()]
        out: dict[str, Any] = {state: states.count(state) for state in (CLOSED, OPEN, HALF_OPEN)}
        out["not_closed"] = {name: b.state for name, b in sorted(self._by_name.items()) if b.state != CLOSED}
        return out
