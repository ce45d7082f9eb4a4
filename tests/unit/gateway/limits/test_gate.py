"""The rate gate: which limits a request meets (gateway, published, the key's own), the 429,
and the token correction after the call."""

from datetime import UTC, datetime

import pytest

from services.common.clock import FrozenClock
from services.common.errors import RateLimited
from services.gateway.limits.gate import RateGate, key_specs, parse_specs
from services.gateway.limits.memory import MemoryLimiter
from services.gateway.limits.resolve import LimitSet, Subject

CLOCK = FrozenClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))


def gate(general: str = "[]") -> RateGate:
    return RateGate(MemoryLimiter(clock=CLOCK), parse_specs(general, where="test"), CLOCK)


async def test_a_keys_own_limit_refuses_with_a_429_naming_it() -> None:
    g = gate()
    own = key_specs([{"name": "rpm", "limit": 2, "algorithm": "fixed_window", "window_s": 60, "unit": "requests"}])
    who = Subject(key="key_a")
    for remaining in ("1", "0"):
        verdict = await g.admit(who, own, tokens=10)
        assert verdict is not None and verdict.allowed and verdict.decisions[0].remaining == int(remaining)
    with pytest.raises(RateLimited) as refused:
        await g.admit(who, own, tokens=10)
    assert refused.value.extra["limit"] == "rpm" and refused.value.headers["Retry-After"] == "60"
    assert await g.admit(Subject(key="key_b"), own, tokens=10) is not None  # per key


async def test_gateway_and_published_limits_apply_together_and_count_once() -> None:
    same = '[{"name": "g", "dimension": "global", "algorithm": "sliding_log", "limit": 3}]'
    published = LimitSet(parse_specs(same, where="ledger") + parse_specs(
        '[{"name": "ip", "dimension": "ip", "algorithm": "sliding_log", "limit": 1}]', where="ledger"))
    g = gate(same)
    verdict = await g.admit(Subject(ip="10.0.0.1"), (), tokens=1, published=published)
    assert verdict is not None and sorted(d.name for d in verdict.decisions) == ["g", "ip"]
    with pytest.raises(RateLimited) as refused:
        await g.admit(Subject(ip="10.0.0.1"), (), tokens=1, published=published)
    assert refused.value.extra["limit"] == "ip"
    await g.admit(Subject(ip="10.0.0.2"), (), tokens=1, published=published)
    with pytest.raises(RateLimited) as global_refusal:  # 2 charged so far (not 4): counted once each
        await g.admit(Subject(ip="10.0.0.3"), (), tokens=1, published=published)
        await g.admit(Subject(ip="10.0.0.4"), (), tokens=1, published=published)
    assert global_refusal.value.extra["limit"] == "g"


async def test_a_token_limit_is_corrected_with_the_real_usage() -> None:
    g = gate('[{"name": "tpm", "dimension": "global", "algorithm": "fixed_window", "limit": 1000, "unit": "tokens"}]')
    verdict = await g.admit(Subject(), (), tokens=800)
    assert verdict is not None and verdict.decisions[0].remaining == 200
    await g.settle(verdict, actual_tokens=100)  # the estimate was high: 700 come back
    after = await g.admit(Subject(), (), tokens=800)
    assert after is not None and after.decisions[0].remaining == 100


async def test_no_limit_means_no_verdict_and_bad_specs_are_refused_clearly() -> None:
    assert await gate().admit(Subject(key="k"), (), tokens=5) is None
    with pytest.raises(ValueError, match="TOLLWAY_RATE_LIMITS"):
        parse_specs('[{"name": "x", "dimension": "planet", "algorithm": "sliding_log", "limit": 1}]',
                    where="TOLLWAY_RATE_LIMITS")


async def test_a_provider_over_its_own_quota_is_routed_around() -> None:
    g = gate('[{"name": "upstream-rpm", "dimension": "provider", "match": "cheap", "algorithm": "fixed_window",'
             ' "limit": 1}, {"name": "g", "dimension": "global", "algorithm": "sliding_log", "limit": 100}]')
    assert await g.within_provider_quota(["cheap", "dear"], tokens=5) == ["cheap", "dear"]
    assert await g.within_provider_quota(["cheap", "dear"], tokens=5) == ["dear"]  # cheap's quota is used up
    with pytest.raises(RateLimited) as refused:
        await g.within_provider_quota(["cheap"], tokens=5)
    assert refused.value.extra["limit"] == "upstream-rpm"
    verdict = await g.admit(Subject(), (), tokens=5)  # the provider checks never charged the global limit
    assert verdict is not None and verdict.decisions[0].remaining == 99


def test_provider_quotas_are_only_looked_at_when_some_exist() -> None:
    only_global = gate('[{"name": "g", "dimension": "global", "algorithm": "sliding_log", "limit": 1}]')
    assert not only_global.has_provider_limits()
    published = LimitSet(parse_specs('[{"name": "p", "dimension": "provider", "match": "x", "algorithm": "sliding_log",'
                                     ' "limit": 1}]', where="ledger"))
    assert gate().has_provider_limits(published) and not gate().has_provider_limits(LimitSet(()))
