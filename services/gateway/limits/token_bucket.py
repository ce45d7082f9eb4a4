"""Token bucket: `burst` tokens at most, refilled continuously at `limit` per window.

Exact: tokens are counted in `spec.token_units` units each, and the bucket gains
`spec.refill_units` units per microsecond, so the refill after any whole number of microseconds is
a whole number of units: tokens(t) = min(burst, tokens(t0) + (t - t0) * limit / window).
A correction may leave the bucket in debt, at most one bucket deep.
"""

from __future__ import annotations

from services.gateway.limits.decision import Decision
from services.gateway.limits.spec import LimitSpec


class BucketState:
    __slots__ = ("tokens", "last", "idle_at")

    def __init__(self, tokens: int, last: int) -> None:
        self.tokens = tokens  # in units
        self.last = last  # µs; the latest time seen (a clock that steps back refills nothing)
        self.idle_at = last  # from then on the bucket is full: as good as no state


def refresh(state: BucketState | None, spec: LimitSpec, now: int) -> BucketState:
    if state is None:
        return BucketState(spec.capacity_units, now)
    if now > state.last:
        state.tokens = min(spec.capacity_units, state.tokens + (now - state.last) * spec.refill_units)
        state.last = now
    return state


def _until_full(tokens: int, spec: LimitSpec) -> int:
    return -(-(spec.capacity_units - tokens) // spec.refill_units)


def decide(state: BucketState, spec: LimitSpec, cost: int, now: int) -> Decision:
    need = cost * spec.token_units
    if state.tokens >= need:
        after = state.tokens - need
        return Decision(spec.name, True, spec.capacity, after // spec.token_units, _until_full(after, spec), 0)
    retry = None if need > spec.capacity_units else -(-(need - state.tokens) // spec.refill_units)
    return Decision(spec.name, False, spec.capacity, max(0, state.tokens // spec.token_units),
                    _until_full(state.tokens, spec), retry)


def charge(state: BucketState, spec: LimitSpec, cost: int, now: int) -> None:
    state.tokens -= cost * spec.token_units
    state.idle_at = state.last + _until_full(state.tokens, spec)


def correct(state: BucketState, spec: LimitSpec, delta: int, at_us: int, now: int) -> None:
    """Take `delta` more tokens (give back when negative); a bucket forgets when it was charged."""
    cap = spec.capacity_units
    state.tokens = max(-cap, min(cap, state.tokens - delta * spec.token_units))
    state.idle_at = state.last + _until_full(state.tokens, spec)
