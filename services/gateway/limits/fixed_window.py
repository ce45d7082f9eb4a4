"""Fixed windows aligned to UTC: window n covers [n * window, (n + 1) * window) µs since the epoch,
so minute, hour and day windows start on UTC's own boundaries."""

from __future__ import annotations

from services.gateway.limits.decision import Decision
from services.gateway.limits.spec import LimitSpec


class WindowState:
    __slots__ = ("index", "count", "idle_at")

    def __init__(self, index: int, count: int, idle_at: int) -> None:
        self.index = index
        self.count = count
        self.idle_at = idle_at


def refresh(state: WindowState | None, spec: LimitSpec, now: int) -> WindowState:
    index = now // spec.window_us
    if state is None:
        return WindowState(index, 0, now)
    if index > state.index:
        state.index, state.count = index, 0
    return state


def decide(state: WindowState, spec: LimitSpec, cost: int, now: int) -> Decision:
    ends_in = (state.index + 1) * spec.window_us - now
    if state.count + cost <= spec.limit:
        return Decision(spec.name, True, spec.limit, spec.limit - state.count - cost, ends_in, 0)
    return Decision(spec.name, False, spec.limit, max(0, spec.limit - state.count), ends_in,
                    None if cost > spec.limit else ends_in)


def charge(state: WindowState, spec: LimitSpec, cost: int, now: int) -> None:
    state.count += cost
    state.idle_at = (state.index + 1) * spec.window_us


def correct(state: WindowState, spec: LimitSpec, delta: int, at_us: int, now: int) -> None:
    """Usage counts in the window it was charged in; once that window is over it is let go."""
    if at_us // spec.window_us == state.index:
        state.count = max(0, state.count + delta)
        state.idle_at = (state.index + 1) * spec.window_us
