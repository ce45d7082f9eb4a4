"""Reference models of the four algorithms, written from their definitions with exact fractions
and plain lists, plus a driver that runs a sequence of requests through an implementation."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from fractions import Fraction
from math import floor
from typing import Any

from hypothesis import strategies as st

from services.gateway.limits.algorithms import ALGORITHMS
from services.gateway.limits.decision import Decision
from services.gateway.limits.spec import OVERSHOOT, LimitSpec

START = 1_795_000_000_000_000  # µs, 2026-11-19, not aligned to any window


class Model:
    """`evaluate(t, cost)` says, changing nothing, whether a request of `cost` at `t` is admitted
    and what remains; `offer` also records it. Both only for t at or after the last offer."""

    capacity: int

    def evaluate(self, t: int, cost: int) -> tuple[bool, int]:
        raise NotImplementedError

    def record(self, t: int, cost: int) -> None:
        raise NotImplementedError

    def offer(self, now: int, cost: int) -> tuple[bool, int]:
        allowed, remaining = self.evaluate(now, cost)
        if allowed:
            self.record(now, cost)
        return allowed, remaining

    def first(self, now: int, admits: Any, horizon: int) -> int:
        """The first microsecond from `now` at which `admits(t)` holds (it only gets easier)."""
        lo, hi = now, now + horizon
        assert admits(hi)
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if admits(mid) else (mid + 1, hi)
        return lo - now


class BucketModel(Model):
    """tokens(t) = min(burst, tokens(t0) + (t - t0) * limit / window); a request takes `cost`."""

    def __init__(self, spec: LimitSpec) -> None:
        self.capacity = spec.capacity
        self.rate = Fraction(spec.limit, spec.window_us)
        self.tokens = Fraction(self.capacity)
        self.last: int | None = None

    def tokens_at(self, t: int) -> Fraction:
        if self.last is None or t <= self.last:
            return self.tokens
        return min(Fraction(self.capacity), self.tokens + (t - self.last) * self.rate)

    def evaluate(self, t: int, cost: int) -> tuple[bool, int]:
        tokens = self.tokens_at(t)
        if tokens >= cost:
            return True, floor(tokens - cost)
        return False, max(0, floor(tokens))

    def record(self, t: int, cost: int) -> None:
        self.tokens, self.last = self.tokens_at(t) - cost, t

    def correct(self, now: int, at: int, delta: int) -> None:
        tokens = self.tokens_at(now)
        self.tokens = max(Fraction(-self.capacity), min(Fraction(self.capacity), tokens - delta))
        self.last = now


class LogModel(Model):
    """Every admitted request counts while its time t > now - window."""

    def __init__(self, spec: LimitSpec) -> None:
        self.capacity, self.window = spec.limit, spec.window_us
        self.log: list[list[int]] = []

    def evaluate(self, t: int, cost: int) -> tuple[bool, int]:
        used = sum(c for u, c in self.log if u > t - self.window)
        if used + cost <= self.capacity:
            return True, self.capacity - used - cost
        return False, max(0, self.capacity - used)

    def record(self, t: int, cost: int) -> None:
        self.log.append([t, cost])

    def correct(self, now: int, at: int, delta: int) -> None:
        if at > now - self.window:
            entry = [e for e in self.log if e[0] == at][-1]
            entry[1] += delta


class WeightedModel(Model):
    """estimate = previous * (window - elapsed) / window + current, at millisecond resolution."""

    def __init__(self, spec: LimitSpec) -> None:
        self.capacity, self.window = spec.limit, spec.window_ms
        self.counts: dict[int, int] = {}

    def evaluate(self, t: int, cost: int) -> tuple[bool, int]:
        ms = t // 1000
        index = ms // self.window
        elapsed = ms - index * self.window
        prev, cur = self.counts.get(index - 1, 0), self.counts.get(index, 0)
        estimate = prev * Fraction(self.window - elapsed, self.window) + cur
        if estimate + cost <= self.capacity:
            return True, floor(self.capacity - estimate - cost)
        return False, max(0, floor(self.capacity - estimate))

    def record(self, t: int, cost: int) -> None:
        index = t // 1000 // self.window
        self.counts[index] = self.counts.get(index, 0) + cost

    def correct(self, now: int, at: int, delta: int) -> None:
        index, at_index = now // 1000 // self.window, at // 1000 // self.window
        if at_index in (index, index - 1):
            self.counts[at_index] = max(0, min(OVERSHOOT * self.capacity, self.counts.get(at_index, 0) + delta))


class FixedModel(Model):
    """Window n is [n * window, (n + 1) * window) µs since the epoch."""

    def __init__(self, spec: LimitSpec) -> None:
        self.capacity, self.window = spec.limit, spec.window_us
        self.counts: dict[int, int] = {}

    def evaluate(self, t: int, cost: int) -> tuple[bool, int]:
        used = self.counts.get(t // self.window, 0)
        if used + cost <= self.capacity:
            return True, self.capacity - used - cost
        return False, max(0, self.capacity - used)

    def record(self, t: int, cost: int) -> None:
        self.counts[t // self.window] = self.counts.get(t // self.window, 0) + cost

    def correct(self, now: int, at: int, delta: int) -> None:
        if at // self.window == now // self.window:
            self.counts[at // self.window] = max(0, self.counts.get(at // self.window, 0) + delta)


def retry_after(model: Model, now: int, cost: int, window_us: int) -> int | None:
    """When a refused request of `cost` would first pass, by search over the model."""
    if cost > model.capacity:
        return None
    return model.first(now, lambda t: model.evaluate(t, cost)[0], 200 * window_us)


def reset(model: Model, now: int, window_us: int) -> int:
    """When the limit is next full (a fixed window: when it ends), by search over the model."""
    if isinstance(model, FixedModel):
        return window_us - now % window_us
    return model.first(now, lambda t: model.evaluate(t, 0)[1] == model.capacity, 200 * window_us)


MODELS: dict[str, Any] = {"token_bucket": BucketModel, "sliding_log": LogModel,
                          "sliding_window": WeightedModel, "fixed_window": FixedModel}


@dataclass
class Run:
    """One limit driven through the implementation: every decision and what was admitted."""

    spec: LimitSpec
    state: Any = None
    decisions: list[tuple[int, int, Decision]] = field(default_factory=list)  # (now, cost, decision)

    @property
    def algo(self) -> Any:
        return ALGORITHMS[self.spec.algorithm]

    def offer(self, now: int, cost: int) -> Decision:
        self.state = self.algo.refresh(self.state, self.spec, now)
        decision = self.algo.decide(self.state, self.spec, cost, now)
        if decision.allowed:
            self.algo.charge(self.state, self.spec, cost, now)
        self.decisions.append((now, cost, decision))
        return decision

    def correct(self, now: int, at: int, delta: int) -> None:
        self.state = self.algo.refresh(self.state, self.spec, now)
        self.algo.correct(self.state, self.spec, delta, at, now)

    def probe(self, at: int, cost: int) -> Decision:
        """What a request of `cost` would get at `at` if nothing else happened (state untouched)."""
        state = self.algo.refresh(copy.deepcopy(self.state), self.spec, at)
        return self.algo.decide(state, self.spec, cost, at)

    @property
    def admitted(self) -> list[tuple[int, int]]:
        return [(now, cost) for now, cost, d in self.decisions if d.allowed]


ALGORITHM_NAMES = sorted(MODELS)


@st.composite
def specs(draw: Any, algorithm: str | None = None, unit: str = "requests") -> LimitSpec:
    algorithm = algorithm or draw(st.sampled_from(ALGORITHM_NAMES))
    window = draw(st.sampled_from([1, 2, 60]))
    burst = draw(st.none() | st.integers(1, 30)) if algorithm == "token_bucket" else None
    return LimitSpec("test", "key", algorithm, draw(st.integers(1, 20)), window, unit=unit, burst=burst)  # type: ignore[arg-type]


def steps(spec: LimitSpec, corrections: bool = False) -> st.SearchStrategy[list[tuple[str, int, int]]]:
    """("offer", gap µs, cost) and, if asked, ("correct", gap µs, actual usage of the last admitted)."""
    gap = st.one_of(st.integers(0, 2_000), st.integers(0, 3 * spec.window_us), st.just(spec.window_us))
    offer = st.tuples(st.just("offer"), gap, st.integers(0, spec.capacity + 2))
    fix = st.tuples(st.just("correct"), st.integers(0, spec.window_us), st.integers(0, 2 * spec.capacity))
    return st.lists(st.one_of(offer, fix) if corrections else offer, min_size=1, max_size=40)
