"""Sliding window, weighted counter: two fixed windows (aligned like fixed windows), the previous
one weighted by how much of it the sliding window still covers, at millisecond resolution:

    estimate = previous * (window_ms - elapsed_ms) / window_ms + current

Admitted when estimate + cost <= limit. Compared multiplied by window_ms, so it stays exact.
"""

from __future__ import annotations

from services.gateway.limits.decision import Decision
from services.gateway.limits.spec import OVERSHOOT, LimitSpec


class WeightedState:
    __slots__ = ("index", "current", "previous", "idle_at")

    def __init__(self, index: int, now: int) -> None:
        self.index = index
        self.current = 0
        self.previous = 0
        self.idle_at = now


def refresh(state: WeightedState | None, spec: LimitSpec, now: int) -> WeightedState:
    index = now // 1000 // spec.window_ms
    if state is None:
        return WeightedState(index, now)
    if index > state.index:
        state.previous = state.current if index == state.index + 1 else 0
        state.current, state.index = 0, index
    return state


def _full_at(state: WeightedState, current: int, spec: LimitSpec) -> int:
    """When the estimate is back to zero (µs): current ages out one window after it ends."""
    if current > 0:
        return (state.index + 2) * spec.window_ms * 1000
    if state.previous > 0:
        return (state.index + 1) * spec.window_ms * 1000
    return 0


def decide(state: WeightedState, spec: LimitSpec, cost: int, now: int) -> Decision:
    window, limit = spec.window_ms, spec.limit
    elapsed = max(0, now // 1000 - state.index * window)
    estimate = state.previous * (window - elapsed) + state.current * window  # x window
    room = limit * window
    if estimate + cost * window <= room:
        full_at = _full_at(state, state.current + cost, spec)
        return Decision(spec.name, True, limit, (room - estimate - cost * window) // window,
                        max(0, full_at - now), 0)
    remaining = max(0, (room - estimate) // window)
    reset = max(0, _full_at(state, state.current, spec) - now)
    if cost > limit:
        return Decision(spec.name, False, limit, remaining, reset, None)
    if state.current + cost > limit:
        # only once this window is the previous one: previous' * (window - e) <= (limit - cost) * window
        at_ms = (state.index + 1) * window + max(0, window - (limit - cost) * window // state.current)
    else:
        at_ms = (state.index + 1) * window - (limit - state.current - cost) * window // state.previous
    return Decision(spec.name, False, limit, remaining, reset, at_ms * 1000 - now)


def charge(state: WeightedState, spec: LimitSpec, cost: int, now: int) -> None:
    state.current += cost
    state.idle_at = _full_at(state, state.current, spec)


def correct(state: WeightedState, spec: LimitSpec, delta: int, at_us: int, now: int) -> None:
    """Usage counts in the window it was charged in, while that window still weighs."""
    at = at_us // 1000 // spec.window_ms
    cap = OVERSHOOT * spec.limit
    if at == state.index:
        state.current = max(0, min(cap, state.current + delta))
    elif at == state.index - 1:
        state.previous = max(0, min(cap, state.previous + delta))
    else:
        return
    state.idle_at = _full_at(state, state.current, spec)
