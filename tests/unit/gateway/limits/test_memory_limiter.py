"""The in-process limiter: several limits per request, all or nothing; bounded memory; violations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.clock import FrozenClock
from services.gateway.limits import LimitSet, LimitSpec, MemoryLimiter, Subject
from services.gateway.limits.decision import Hit
from services.gateway.limits.timebase import day_of, to_us
from tests.unit.gateway.limits.reference import ALGORITHM_NAMES, START

SUBJECT = Subject(key="k1", user="u1", org="o1", ip="10.0.0.1")


def three_limits(algorithm: str = "fixed_window", key_limit: int = 5) -> LimitSet:
    return LimitSet([
        LimitSpec("key-rpm", "key", algorithm, key_limit),  # type: ignore[arg-type]
        LimitSpec("org-rpm", "org", algorithm, 3),  # type: ignore[arg-type]
        LimitSpec("ip-tpm", "ip", algorithm, 1000, unit="tokens"),  # type: ignore[arg-type]
    ])


async def test_a_request_is_admitted_only_when_every_limit_admits():
    limiter, limits = MemoryLimiter(), three_limits()
    verdicts = [await limiter.check(limits.hits(SUBJECT, tokens=10, now_us=START), START) for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [d.name for d in verdicts[-1].refusals] == ["org-rpm"]
    assert limiter.counters.checks == 4 and limiter.counters.refused == 1


@pytest.mark.parametrize("algorithm", ALGORITHM_NAMES)
@settings(max_examples=40, deadline=None)
@given(costs=st.lists(st.integers(0, 400), min_size=1, max_size=12))
async def test_a_refusal_charges_none_of_the_limits(algorithm, costs):
    limiter = MemoryLimiter()
    limits = three_limits(algorithm, key_limit=2)
    for i, tokens in enumerate(costs):
        now = START + i
        hits = limits.hits(SUBJECT, tokens=tokens, now_us=now)
        usage = limits.hits(SUBJECT, now_us=now, usage=True)
        before = [d.remaining for d in await limiter.peek(usage, now)]
        verdict = await limiter.check(hits, now)
        after = [d.remaining for d in await limiter.peek(usage, now)]
        if verdict.allowed:
            assert after == [b - h.cost for b, h in zip(before, hits, strict=True)]
        else:
            assert after == before


async def test_a_refusal_counts_one_violation_per_refusing_limit_per_day():
    limiter, limits = MemoryLimiter(), three_limits()
    for _ in range(6):
        await limiter.check(limits.hits(SUBJECT, tokens=10, now_us=START), START)
    today = day_of(START)
    assert await limiter.violations(today) == {"org-rpm": 3}
    tomorrow = START + 86_400_000_000
    for _ in range(2):
        await limiter.check(limits.hits(SUBJECT, tokens=2000, now_us=tomorrow), tomorrow)
    assert await limiter.violations(day_of(tomorrow)) == {"ip-tpm": 2}
    assert await limiter.violations(today) == {"org-rpm": 3}


async def test_violations_are_kept_for_a_bounded_number_of_days():
    limiter = MemoryLimiter(violation_days=2)
    spec = LimitSpec("tiny", "global", "fixed_window", 1)
    for day in range(4):
        now = START + day * 86_400_000_000
        hits = LimitSet([spec]).hits(Subject(), now_us=now)
        await limiter.check(hits, now)
        await limiter.check(hits, now)
    kept = [await limiter.violations(day_of(START + d * 86_400_000_000)) for d in range(4)]
    assert kept == [{}, {}, {"tiny": 1}, {"tiny": 1}]


async def test_the_same_limit_and_key_twice_in_one_check_is_a_bug():
    spec = LimitSpec("a", "key", "fixed_window", 5)
    with pytest.raises(ValueError):
        await MemoryLimiter().check([Hit(spec, "a|k", 1), Hit(spec, "a|k", 1)], START)


async def test_correction_gives_back_what_the_estimate_overcharged():
    limiter = MemoryLimiter()
    limits = LimitSet([LimitSpec("tpm", "key", "sliding_log", 1000, unit="tokens"),
                       LimitSpec("rpm", "key", "sliding_log", 100)])
    verdict = await limiter.check(limits.hits(SUBJECT, tokens=800, now_us=START), START)
    assert verdict.allowed
    await limiter.correct(verdict, 150, START + 5)
    after = await limiter.peek(limits.hits(SUBJECT, now_us=START + 5, usage=True), START + 5)
    assert [(d.name, d.remaining) for d in after] == [("tpm", 850), ("rpm", 99)]  # requests stay counted


async def test_state_that_is_as_good_as_new_is_dropped():
    limiter = MemoryLimiter()
    limits = LimitSet([LimitSpec("ip", "ip", "token_bucket", 60)])
    for i in range(50):
        await limiter.check(limits.hits(Subject(ip=f"10.0.0.{i}"), now_us=START), START)
    assert len(limiter) == 50
    later = START + 2_000_000  # each bucket refilled its one token after one second
    for i in range(50):
        await limiter.check(limits.hits(Subject(ip="10.9.9.9"), now_us=later + i), later + i)
    assert len(limiter) <= 2


async def test_memory_stays_bounded_when_every_key_is_busy():
    limiter = MemoryLimiter(max_keys=100)
    limits = LimitSet([LimitSpec("ip", "ip", "fixed_window", 5, 3600)])
    for i in range(1000):
        await limiter.check(limits.hits(Subject(ip=f"ip{i}"), now_us=START), START)
        assert len(limiter) <= 100
    assert limiter.counters.evicted_active >= 900


async def test_the_clock_is_used_when_no_time_is_given():
    clock = FrozenClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    limiter = MemoryLimiter(clock=clock)
    verdict = await limiter.check(LimitSet([LimitSpec("g", "global", "fixed_window", 1)]).hits(Subject(), now_us=0))
    assert verdict.at_us == to_us(clock.now())
