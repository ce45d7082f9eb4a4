"""In-process limiter: the default backend, for one gateway process.

asyncio-safe without locks: a check reads, decides and charges with no `await` in between, so no
other task runs in the middle. Memory is bounded: states are kept in least-recently-used order,
idle ones (as good as new) are dropped as the checks pass by, and past `max_keys` the least
recently used go (their limits start afresh; counted in `counters.evicted_active`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import structlog

from services.common.clock import Clock, SystemClock
from services.gateway.limits.algorithms import ALGORITHMS
from services.gateway.limits.decision import Decision, Hit, Verdict
from services.gateway.limits.limiter import LimiterCounters, corrections, distinct
from services.gateway.limits.records import Bucket, Buckets, ViolationRing, near_enough, split_key, violation_records
from services.gateway.limits.resolve import Subject
from services.gateway.limits.spec import LimitSpec
from services.gateway.limits.timebase import day_of, to_us

log = structlog.get_logger("tollway.gateway.limits")


class MemoryLimiter:
    def __init__(self, *, clock: Clock | None = None, max_keys: int = 100_000, violation_days: int = 8,
                 violation_records: int = 10_000) -> None:
        self._clock = clock or SystemClock()
        self.max_keys = max_keys
        self.violation_days = violation_days
        self._states: dict[str, Any] = {}  # insertion order = least recently used first
        self._violations: dict[date, Counter[str]] = {}
        self._records = ViolationRing(violation_records)  # the newest refusals, who and what
        self.counters = LimiterCounters()

    def __len__(self) -> int:
        return len(self._states)

    async def check(self, hits: Sequence[Hit], now_us: int | None = None,
                    subject: Subject | None = None) -> Verdict:
        verdict = self.check_now(hits, to_us(self._clock.now()) if now_us is None else now_us)
        if not verdict.allowed:
            self._records.extend(violation_records(verdict, subject))
        return verdict

    def check_now(self, hits: Sequence[Hit], now: int) -> Verdict:
        distinct(hits)
        table = self._states
        states = []
        decisions = []
        allowed = True
        for hit in hits:
            algo = ALGORITHMS[hit.spec.algorithm]
            state = algo.refresh(table.pop(hit.key, None), hit.spec, now)
            table[hit.key] = state  # now the most recently used
            decision = algo.decide(state, hit.spec, hit.cost, now)
            allowed = allowed and decision.allowed
            states.append(state)
            decisions.append(decision)
        self.counters.checks += 1
        if allowed:
            for hit, state in zip(hits, states, strict=True):
                ALGORITHMS[hit.spec.algorithm].charge(state, hit.spec, hit.cost, now)
        else:
            self.counters.refused += 1
            self._count_violations(decisions, now)
        self._evict(now)
        return Verdict(allowed, tuple(decisions), tuple(hits), now)

    async def peek(self, hits: Sequence[Hit], now_us: int | None = None) -> tuple[Decision, ...]:
        now = to_us(self._clock.now()) if now_us is None else now_us
        out = []
        for hit in hits:
            algo = ALGORITHMS[hit.spec.algorithm]
            state = algo.refresh(self._states.get(hit.key), hit.spec, now)
            out.append(algo.decide(state, hit.spec, hit.cost, now))
        return tuple(out)

    async def correct(self, verdict: Verdict, actual_tokens: int, now_us: int | None = None) -> None:
        now = to_us(self._clock.now()) if now_us is None else now_us
        for hit, delta in corrections(verdict, actual_tokens):
            algo = ALGORITHMS[hit.spec.algorithm]
            state = algo.refresh(self._states.pop(hit.key, None), hit.spec, now)
            algo.correct(state, hit.spec, delta, verdict.at_us, now)
            self._states[hit.key] = state

    async def violations(self, day: date) -> dict[str, int]:
        return dict(self._violations.get(day, {}))

    async def violation_records(self, wanted: Mapping[str, str], most: int) -> list[dict[str, Any]]:
        return self._records.newest(wanted, most)

    async def reset(self, keys: Sequence[str]) -> int:
        dropped = sum(self._states.pop(key, None) is not None for key in keys)
        self.counters.resets += dropped
        return dropped

    async def buckets(self, known: Mapping[str, LimitSpec], now_us: int, *, near: float, most: int,
                      scan: int) -> Buckets:
        found = []
        scanned = 0
        for key, state in list(self._states.items()):
            if scanned >= scan:
                break
            scanned += 1
            spec = known.get(split_key(key)[0])
            if spec is None or state.idle_at <= now_us:
                continue
            algo = ALGORITHMS[spec.algorithm]
            found.append(Bucket(key, spec, algo.decide(algo.refresh(state, spec, now_us), spec, 0, now_us)))
        return Buckets(near_enough(found, near, most), scanned, scanned == len(self._states))

    async def close(self) -> None:
        self._states.clear()

    def _count_violations(self, decisions: list[Decision], now: int) -> None:
        day = day_of(now)
        counts = self._violations.get(day)
        if counts is None:
            counts = self._violations[day] = Counter()
            for old in sorted(self._violations)[:-self.violation_days]:
                del self._violations[old]
        counts.update(d.name for d in decisions if not d.allowed)

    def _evict(self, now: int) -> None:
        table = self._states
        for _ in range(2):  # idle states drift to the front: drop a couple per check
            oldest = next(iter(table), None)
            if oldest is None or table[oldest].idle_at > now:
                break
            del table[oldest]
        if len(table) > self.max_keys:
            self._compact(now)

    def _compact(self, now: int) -> None:
        """Drop every idle state, then the least recently used down to nine tenths of the room, so
        that a full table is compacted once per tenth of `max_keys` new keys, not on every check."""
        table = self._states
        for key in [k for k, s in table.items() if s.idle_at <= now]:
            del table[key]
        lost = 0
        while len(table) > self.max_keys * 9 // 10:
            del table[next(iter(table))]
            lost += 1
        if lost:
            self.counters.evicted_active += lost
            log.warning("rate_limit_states_evicted", count=lost, max_keys=self.max_keys)
