"""What an operator runs on the in-process limiter: refusal records (who, which limit, asked vs
left) in a bounded ring, a reset that lets a refused caller through at once, the buckets near
their limit, and the seeds' default limits shipped as an example that loads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.common.clock import FrozenClock
from services.common.errors import RateLimited
from services.gateway.limits import LimitSet, LimitSpec, MemoryLimiter, Subject
from services.gateway.limits.gate import RateGate, parse_specs
from services.gateway.limits.records import iso, violation_records
from services.gateway.limits.timebase import day_of
from tests.unit.gateway.limits.reference import START

REPO = Path(__file__).resolve().parents[4]
ANN = Subject(key="key_a", user="ann", team="ml", org="acme", ip="10.0.0.1")
CLOCK = FrozenClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
BOB = Subject(key="key_b", user="bob", team="ml", org="acme", ip="10.0.0.2")


def limits() -> LimitSet:
    return LimitSet([LimitSpec("key-rpm", "key", "fixed_window", 2),
                     LimitSpec("team-tpm", "team", "fixed_window", 100, unit="tokens")])


async def test_a_refusal_is_recorded_with_the_caller_the_limit_and_asked_vs_left() -> None:
    limiter, ls = MemoryLimiter(), limits()
    for _ in range(2):
        assert (await limiter.check(ls.hits(ANN, tokens=30, now_us=START), START, ANN)).allowed
    refused = await limiter.check(ls.hits(ANN, tokens=30, now_us=START), START + 5, ANN)
    assert not refused.allowed
    records = await limiter.violation_records({}, 10)
    assert len(records) == 1
    record = records[0]
    assert record == {"at": iso(START + 5), "at_us": START + 5, "limit": "key-rpm", "dimension": "key",
                      "unit": "requests", "value": "key_a", "key_id": "key_a", "user": "ann", "team": "ml",
                      "org": "acme", "ip": "10.0.0.1", "requested": 1, "available": 0,
                      "retry_after_s": record["retry_after_s"]}
    assert 0 < record["retry_after_s"] <= 60
    # the team's tokens: 60 charged, 40 left, 50 asked (bob's key limit admits)
    assert not (await limiter.check(ls.hits(BOB, tokens=50, now_us=START), START + 6, BOB)).allowed
    newest = (await limiter.violation_records({}, 10))[0]
    assert [newest[f] for f in ("limit", "key_id", "requested", "available")] == ["team-tpm", "key_b", 50, 40]
    assert [r["key_id"] for r in await limiter.violation_records({"key_id": "key_a"}, 10)] == ["key_a"]
    assert await limiter.violation_records({"key_id": "key_a", "limit": "team-tpm"}, 10) == []
    assert await limiter.violations(day_of(START)) == {"key-rpm": 1, "team-tpm": 1}  # the daily counts stay


async def test_the_record_ring_is_bounded_and_newest_first() -> None:
    limiter = MemoryLimiter(violation_records=5)
    tiny = LimitSet([LimitSpec("tiny", "ip", "fixed_window", 1, 3600)])
    for i in range(12):
        who = Subject(ip=f"10.0.0.{i}")
        await limiter.check(tiny.hits(who, now_us=START), START + 2 * i, who)
        await limiter.check(tiny.hits(who, now_us=START), START + 2 * i + 1, who)
    records = await limiter.violation_records({}, 100)
    assert [r["ip"] for r in records] == [f"10.0.0.{i}" for i in range(11, 6, -1)]
    assert len(await limiter.violation_records({}, 2)) == 2


def test_an_admitted_verdict_has_no_records_and_a_check_without_subject_still_names_the_value() -> None:
    limiter, ls = MemoryLimiter(), limits()
    ok = limiter.check_now(ls.hits(ANN, now_us=START), START)
    assert violation_records(ok, ANN) == []
    limiter.check_now(ls.hits(ANN, now_us=START), START)
    refused = limiter.check_now(ls.hits(ANN, now_us=START), START)
    [record] = violation_records(refused, None)
    assert record["value"] == "key_a" and "key_id" not in record


async def test_a_reset_lets_a_refused_caller_through_at_once_and_no_one_else_is_touched() -> None:
    clock = CLOCK
    gate = RateGate(MemoryLimiter(clock=clock), parse_specs(
        '[{"name": "user-rpm", "dimension": "user", "algorithm": "sliding_log", "limit": 1, "window_s": 3600}]',
        where="test"), clock)
    now = START  # the specs never expire: any time will do
    for who in (ANN, BOB):
        assert await gate.admit(who, (), tokens=1) is not None
    for who in (ANN, BOB):
        with pytest.raises(RateLimited):
            await gate.admit(who, (), tokens=1)
    targets = gate.reset_keys(gate.in_force(None), "user", "ann", "user-rpm", now)
    assert [spec.name for spec, _ in targets] == ["user-rpm"]
    assert await gate.limiter.reset([key for _, key in targets]) == 1
    assert await gate.admit(ANN, (), tokens=1) is not None  # at once
    with pytest.raises(RateLimited):  # bob was not reset
        await gate.admit(BOB, (), tokens=1)
    assert gate.limiter.counters.resets == 1
    assert gate.reset_keys(gate.in_force(None), "team", "ml", "user-rpm", now) == []  # wrong dimension
    assert gate.reset_keys(gate.in_force(None), "user", "ann", "nope", now) == []
    assert len(gate.reset_keys(gate.in_force(None), "user", "ann", None, now)) == 1  # every limit of the dimension


def test_a_custom_quota_is_reset_for_its_value_only() -> None:
    general = {"name": "rpm", "dimension": "team", "algorithm": "sliding_log", "limit": 5}
    specs = parse_specs([general, {**general, "match": "ml", "limit": 50}], where="test")
    gate = RateGate(MemoryLimiter(), specs, CLOCK)
    ml = gate.reset_keys(gate.in_force(None), "team", "ml", "rpm", START)
    ops = gate.reset_keys(gate.in_force(None), "team", "ops", "rpm", START)
    assert sorted(s.limit for s, _ in ml) == [5, 50] and [s.limit for s, _ in ops] == [5]
    assert all(key.endswith("|ml") for _, key in ml)


async def test_buckets_near_their_limit_are_listed_fullest_first() -> None:
    limiter = MemoryLimiter()
    spec = LimitSpec("ip-rpm", "ip", "fixed_window", 10, 3600)
    gone = LimitSpec("gone", "ip", "fixed_window", 10, 3600)
    ls = LimitSet([spec, gone])
    for ip, n in (("a", 10), ("b", 9), ("c", 3)):
        for _ in range(n):
            await limiter.check(ls.hits(Subject(ip=ip), now_us=START), START)
    known = {spec.fingerprint: spec}  # "gone" is no longer in force: left out
    found = await limiter.buckets(known, START + 1, near=0.8, most=10, scan=1000)
    assert [(b.key.split("|")[1], b.used, b.decision.limit) for b in found.buckets] == [("a", 10, 10), ("b", 9, 10)]
    assert found.complete and found.scanned == 6
    everyone = await limiter.buckets(known, START + 1, near=0, most=10, scan=1000)
    assert [b.key.split("|")[1] for b in everyone.buckets] == ["a", "b", "c"]
    assert len((await limiter.buckets(known, START + 1, near=0, most=1, scan=1000)).buckets) == 1
    bounded = await limiter.buckets(known, START + 1, near=0, most=10, scan=2)
    assert bounded.scanned == 2 and not bounded.complete
    later = START + 3600 * 1_000_000  # the window is over: nobody is near anything
    assert (await limiter.buckets(known, later, near=0, most=10, scan=1000)).buckets == []


def test_the_seeds_default_limits_ship_as_an_example_that_loads() -> None:
    raw = (REPO / "examples" / "limits.json").read_text()
    specs = parse_specs(raw, where="TOLLWAY_RATE_LIMITS")  # the same parser as the setting
    assert {s.dimension for s in specs} == {"global", "user", "provider", "ip"}
    by = {s.dimension: (s.algorithm, s.limit, s.window_s, s.burst) for s in specs}
    assert by == {"global": ("token_bucket", 10000, 60, 1000), "user": ("token_bucket", 100, 60, 10),
                  "provider": ("token_bucket", 1000, 60, 100), "ip": ("token_bucket", 50, 60, 5)}
