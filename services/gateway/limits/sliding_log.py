"""Sliding window log, exact: a request at time t counts while t > now - window. The log keeps one
entry per microsecond that was charged (its total cost), oldest first, and their running sum."""

from __future__ import annotations

from collections import deque

from services.gateway.limits.decision import Decision
from services.gateway.limits.spec import LimitSpec


class LogState:
    __slots__ = ("entries", "total", "idle_at")

    def __init__(self) -> None:
        self.entries: deque[list[int]] = deque()  # [ts_us, cost], ts ascending
        self.total = 0
        self.idle_at = 0  # the newest entry leaves the window then


def refresh(state: LogState | None, spec: LimitSpec, now: int) -> LogState:
    if state is None:
        return LogState()
    cutoff = now - spec.window_us
    entries = state.entries
    while entries and entries[0][0] <= cutoff:
        state.total -= entries.popleft()[1]
    return state


def _newest(state: LogState) -> int | None:
    return state.entries[-1][0] if state.entries else None


def decide(state: LogState, spec: LimitSpec, cost: int, now: int) -> Decision:
    limit, window = spec.limit, spec.window_us
    newest = _newest(state)
    if state.total + cost <= limit:
        if cost > 0 and (newest is None or now > newest):
            newest = now
        reset = 0 if newest is None else newest + window - now
        return Decision(spec.name, True, limit, limit - state.total - cost, reset, 0)
    reset = 0 if newest is None else newest + window - now
    remaining = max(0, limit - state.total)
    if cost > limit:
        return Decision(spec.name, False, limit, remaining, reset, None)
    # the earliest moment enough of the log has left the window
    need, freed = state.total + cost - limit, 0
    for ts, spent in state.entries:
        freed += spent
        if freed >= need:
            return Decision(spec.name, False, limit, remaining, reset, ts + window - now)
    raise AssertionError("the log's running total disagrees with its entries")


def charge(state: LogState, spec: LimitSpec, cost: int, now: int) -> None:
    if cost == 0:
        return
    entries = state.entries
    if entries and entries[-1][0] >= now:  # same microsecond (or a clock that stepped back)
        entries[-1][1] += cost
    else:
        entries.append([now, cost])
    state.total += cost
    state.idle_at = entries[-1][0] + spec.window_us


def correct(state: LogState, spec: LimitSpec, delta: int, at_us: int, now: int) -> None:
    """Change the cost recorded at `at_us` (never below zero; an estimate of zero recorded
    nothing, so real usage is entered there); once `at_us` has left the window: let go."""
    if at_us <= now - spec.window_us:
        return
    entries = state.entries
    i = len(entries)
    while i and entries[i - 1][0] > at_us:
        i -= 1
    if i and entries[i - 1][0] == at_us:
        entry = entries[i - 1]
        new = max(0, entry[1] + delta)
        state.total += new - entry[1]
        entry[1] = new
    elif delta > 0:
        entries.insert(i, [at_us, delta])
        state.total += delta
        state.idle_at = entries[-1][0] + spec.window_us
