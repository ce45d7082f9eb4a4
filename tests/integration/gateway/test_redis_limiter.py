"""Rate limits on the real Redis at 127.0.0.1:6379 (required: the tests fail without it), with the
same behaviour suite run against the in-process limiter; keys live under a random prefix and are
deleted afterwards."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from structlog.testing import capture_logs

from services.common.errors import DependencyUnavailable
from services.gateway.limits import LimitSet, LimitSpec, MemoryLimiter, Subject, redis_backend
from services.gateway.limits.limiter import Limiter
from services.gateway.limits.redis_backend import RedisLimiter
from services.gateway.limits.redis_scripts import CHECK, Script
from services.gateway.limits.timebase import day_of
from tests.unit.gateway.limits.reference import ALGORITHM_NAMES, START, specs, steps

REDIS_URL = "redis://127.0.0.1:6379/0"
UNREACHABLE_URL = "redis://127.0.0.1:1/0"
REPO = Path(__file__).resolve().parents[3]
SUBJECT = Subject(key="k1", user="u1", org="o1", ip="10.0.0.1")


def new_prefix() -> str:
    return f"test:limits:{uuid.uuid4().hex[:12]}:"


async def drop_keys(prefix: str) -> int:
    client = Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
        return len(keys)
    finally:
        await client.aclose()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means the required Redis is missing
        pytest.fail(f"these tests need Redis at {REDIS_URL} (running on dev machines and in CI): {exc!r}")
    finally:
        await client.aclose()
    prefix = new_prefix()
    yield prefix
    await drop_keys(prefix)


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[Limiter]:
    # fail closed with a generous wait: on a loaded machine a check that waits past the default
    # 0.25 s would fail open and be admitted unchecked, which these behaviour tests must not mistake
    # for a decision (fail-open itself is tested below with an unreachable Redis)
    lim: Limiter = (MemoryLimiter() if request.param == "memory"
                    else RedisLimiter(REDIS_URL, prefix=redis_prefix, fail_open=False, timeout_s=5))
    yield lim
    await lim.close()


def one(algorithm: str, limit: int = 5, **kw: Any) -> LimitSet:
    return LimitSet([LimitSpec("key-limit", "key", algorithm, limit, **kw)])  # type: ignore[arg-type]


# --- the behaviour suite, for both backends ---------------------------------------------------

@pytest.mark.parametrize("algorithm", ALGORITHM_NAMES)
async def test_admits_up_to_the_limit_then_refuses_with_an_honest_retry_after(limiter, algorithm):
    limits = one(algorithm)
    hits = limits.hits(SUBJECT, now_us=START)
    verdicts = [await limiter.check(hits, START + i) for i in range(6)]
    assert [v.allowed for v in verdicts] == [True] * 5 + [False]
    assert [v.decisions[0].remaining for v in verdicts] == [4, 3, 2, 1, 0, 0]
    wait = verdicts[-1].retry_after_us
    assert wait is not None and wait > 0
    assert not (await limiter.check(hits, START + 5 + wait - 1)).allowed
    assert (await limiter.check(hits, START + 5 + wait)).allowed


@pytest.mark.parametrize("algorithm", ALGORITHM_NAMES)
async def test_a_refusal_by_one_limit_charges_none_of_the_others(limiter, algorithm):
    limits = LimitSet([LimitSpec("key-rpm", "key", algorithm, 10),  # type: ignore[arg-type]
                       LimitSpec("org-rpm", "org", algorithm, 2),  # type: ignore[arg-type]
                       LimitSpec("ip-tpm", "ip", algorithm, 1000, unit="tokens")])  # type: ignore[arg-type]
    hits = limits.hits(SUBJECT, tokens=100, now_us=START)
    assert [(await limiter.check(hits, START)).allowed for _ in range(4)] == [True, True, False, False]
    usage = await limiter.peek(limits.hits(SUBJECT, now_us=START, usage=True), START)
    assert [(d.name, d.remaining) for d in usage] == [("key-rpm", 8), ("org-rpm", 0), ("ip-tpm", 800)]


async def test_the_token_estimate_is_corrected_with_the_real_usage(limiter):
    limits = LimitSet([LimitSpec("tpm", "key", "token_bucket", 1000, unit="tokens"),
                       LimitSpec("rpm", "key", "sliding_log", 100)])
    first = await limiter.check(limits.hits(SUBJECT, tokens=800, now_us=START), START)
    await limiter.correct(first, 150, START)  # the estimate was 650 too high
    second = await limiter.check(limits.hits(SUBJECT, tokens=100, now_us=START), START)
    await limiter.correct(second, 400, START)  # 300 too low
    usage = await limiter.peek(limits.hits(SUBJECT, now_us=START, usage=True), START)
    assert [(d.name, d.remaining) for d in usage] == [("tpm", 450), ("rpm", 98)]


async def test_peek_charges_nothing(limiter):
    limits = one("fixed_window", 1)
    hits = limits.hits(SUBJECT, now_us=START)
    for _ in range(3):
        assert [d.allowed for d in await limiter.peek(hits, START)] == [True]
    assert (await limiter.check(hits, START)).allowed
    assert await limiter.violations(day_of(START)) == {}


async def test_violations_are_counted_per_limit_per_day(limiter):
    limits = LimitSet([LimitSpec("a", "key", "fixed_window", 1), LimitSpec("b", "user", "fixed_window", 1, 3600)])
    hits = limits.hits(SUBJECT, now_us=START)
    for _ in range(3):
        await limiter.check(hits, START)
    assert await limiter.violations(day_of(START)) == {"a": 2, "b": 2}
    assert await limiter.violations(day_of(START + 86_400_000_000)) == {}


@pytest.mark.parametrize("algorithm", ALGORITHM_NAMES)
async def test_many_concurrent_tasks_never_get_more_than_the_limit(limiter, algorithm):
    hits = one(algorithm, 50, window_s=3600).hits(SUBJECT, now_us=START)
    verdicts = await asyncio.gather(*(limiter.check(hits, START + i % 7) for i in range(300)))
    assert not any(v.degraded for v in verdicts)
    assert sum(v.allowed for v in verdicts) == 50


async def test_refusals_are_recorded_with_the_caller_newest_first(limiter):
    limits = LimitSet([LimitSpec("rpm", "key", "fixed_window", 1, 3600),
                       LimitSpec("tpm", "org", "fixed_window", 100, 3600, unit="tokens")])
    other = Subject(key="k2", user="u2", org="o1")
    assert (await limiter.check(limits.hits(SUBJECT, tokens=30, now_us=START), START, SUBJECT)).allowed
    assert not (await limiter.check(limits.hits(SUBJECT, tokens=30, now_us=START), START + 1, SUBJECT)).allowed
    assert not (await limiter.check(limits.hits(other, tokens=80, now_us=START), START + 2, other)).allowed
    records = await limiter.violation_records({}, 10)
    assert [(r["key_id"], r["limit"], r["requested"], r["available"]) for r in records] == [
        ("k2", "tpm", 80, 70), ("k1", "rpm", 1, 0)]
    assert records[1]["at_us"] == START + 1 and records[1]["ip"] == "10.0.0.1"
    assert [r["limit"] for r in await limiter.violation_records({"key_id": "k1"}, 10)] == ["rpm"]
    assert await limiter.violations(day_of(START)) == {"rpm": 1, "tpm": 1}


async def test_a_reset_lets_a_refused_caller_through_at_once(limiter):
    for algorithm in ALGORITHM_NAMES:
        limits = LimitSet([LimitSpec(f"r-{algorithm}", "key", algorithm, 2, 3600)])  # type: ignore[arg-type]
        hits = limits.hits(SUBJECT, now_us=START)
        assert [(await limiter.check(hits, START)).allowed for _ in range(3)] == [True, True, False]
        assert await limiter.reset([h.key for h in hits]) == 1
        assert (await limiter.check(hits, START)).allowed, algorithm
        assert await limiter.reset(["nothing|here"]) == 0


async def test_buckets_near_their_limit(limiter):
    spec = LimitSpec("ip-rpm", "ip", "sliding_log", 10, 3600)
    for ip, n in (("a", 10), ("b", 8), ("c", 2)):
        hits = LimitSet([spec]).hits(Subject(ip=ip), now_us=START)
        for i in range(n):
            await limiter.check(hits, START + i)
    found = await limiter.buckets({spec.fingerprint: spec}, START + 20, near=0.8, most=10, scan=1000)
    assert [(b.key, b.used) for b in found.buckets] == [(f"{spec.fingerprint}|a", 10), (f"{spec.fingerprint}|b", 8)]
    assert found.complete and found.scanned == 3
    assert (await limiter.buckets({}, START + 20, near=0, most=10, scan=1000)).buckets == []  # none in force
    assert not (await limiter.buckets({spec.fingerprint: spec}, START + 20, near=0, most=10, scan=1)).complete


# --- Redis only -------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_redis_decides_exactly_as_the_in_process_limiter(redis_prefix, data):
    """Two limits of random algorithms, random times, costs and corrections: every decision the
    Lua scripts make equals the in-process one."""
    a, b = data.draw(specs(unit="tokens")), data.draw(specs())
    limits = LimitSet([LimitSpec("first", "key", a.algorithm, a.limit, a.window_s, unit="tokens", burst=a.burst),
                       LimitSpec("second", "key", b.algorithm, b.limit, b.window_s, burst=b.burst)])
    ops = data.draw(steps(limits.general[0], corrections=True))

    async def scenario() -> None:
        prefix = new_prefix()
        memory, shared = MemoryLimiter(), RedisLimiter(REDIS_URL, prefix=prefix)
        try:
            now, last = START, None
            for kind, gap, amount in ops:
                now += gap
                if kind == "correct":
                    if last is not None:
                        await memory.correct(last[0], amount, now)
                        await shared.correct(last[1], amount, now)
                    continue
                hits = limits.hits(SUBJECT, tokens=amount, now_us=now)
                mine, theirs = await memory.check(hits, now), await shared.check(hits, now)
                assert theirs.decisions == mine.decisions, (now - START, amount)
                if mine.allowed:
                    last = (mine, theirs)
            assert await shared.violations(day_of(now)) == await memory.violations(day_of(now))
        finally:
            await shared.close()
            await drop_keys(prefix)

    asyncio.run(scenario())


CHILD = textwrap.dedent("""
    import asyncio, sys
    from redis.asyncio import Redis
    from services.gateway.limits import LimitSet, LimitSpec, Subject
    from services.gateway.limits.redis_backend import RedisLimiter

    url, prefix, algorithm, now = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

    async def main():
        limiter = RedisLimiter(url, prefix=prefix, timeout_s=5)
        hits = LimitSet([LimitSpec("shared", "global", algorithm, 100, 3600)]).hits(Subject(), now_us=now)
        barrier = Redis.from_url(url)
        await barrier.incr(prefix + "ready")
        while int(await barrier.get(prefix + "ready")) < 2:  # both fire at once
            await asyncio.sleep(0.001)
        verdicts = await asyncio.gather(*(limiter.check(hits, now) for _ in range(400)))
        await limiter.close()
        await barrier.aclose()
        print(sum(v.allowed for v in verdicts))

    asyncio.run(main())
""")


@pytest.mark.parametrize("algorithm", ALGORITHM_NAMES)
async def test_two_processes_hammering_one_limit_share_it_exactly(redis_prefix, algorithm):
    argv = [sys.executable, "-c", CHILD, REDIS_URL, redis_prefix, algorithm, str(START)]
    children = [subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
    outputs = [await asyncio.to_thread(child.communicate, timeout=60) for child in children]
    assert all(child.returncode == 0 for child in children), [err for _, err in outputs]
    admitted = [int(out) for out, _ in outputs]
    assert sum(admitted) == 100, admitted
    # and the Retry-After of a refusal then is honest
    limiter = RedisLimiter(REDIS_URL, prefix=redis_prefix)
    hits = LimitSet([LimitSpec("shared", "global", algorithm, 100, 3600)]).hits(Subject(), now_us=START)  # type: ignore[arg-type]
    refused = await limiter.check(hits, START)
    assert not refused.allowed and refused.retry_after_us
    assert (await limiter.check(hits, START + refused.retry_after_us)).allowed
    await limiter.close()


async def test_one_round_trip_per_check_however_many_limits_apply(redis_prefix):
    limiter = RedisLimiter(REDIS_URL, prefix=redis_prefix)
    limits = LimitSet([LimitSpec("k", "key", "token_bucket", 100), LimitSpec("o", "org", "sliding_log", 100),
                       LimitSpec("g", "global", "sliding_window", 100), LimitSpec("i", "ip", "fixed_window", 100)])
    await limiter.check(limits.hits(SUBJECT, now_us=START), START)  # the script is loaded by now
    sent: list[Any] = []
    real = limiter._redis.execute_command

    async def counting(*args: Any, **kw: Any) -> Any:
        sent.append(args[0])
        return await real(*args, **kw)

    limiter._redis.execute_command = counting  # type: ignore[method-assign]
    verdict = await limiter.check(limits.hits(SUBJECT, now_us=START), START)
    assert verdict.allowed and len(verdict.decisions) == 4
    assert sent == ["EVALSHA"]
    await limiter.close()


async def test_a_script_redis_does_not_know_is_loaded_on_noscript(redis_prefix, monkeypatch):
    fresh = Script(CHECK.source + f"\n-- {uuid.uuid4().hex}")
    monkeypatch.setattr(redis_backend, "CHECK", fresh)
    client = Redis.from_url(REDIS_URL)
    assert await client.script_exists(fresh.sha) == [False]
    limiter = RedisLimiter(REDIS_URL, prefix=redis_prefix)
    assert (await limiter.check(one("fixed_window").hits(SUBJECT, now_us=START), START)).allowed
    assert await client.script_exists(fresh.sha) == [True]
    await limiter.close()
    await client.aclose()


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Any:
    with capture_logs() as captured:
        # a fresh logger, bound inside the capture (loggers are cached on first use)
        monkeypatch.setattr(redis_backend, "log", structlog.get_logger("test.limits"))
        yield captured


async def test_unreachable_redis_fails_open_visibly(logs):
    limiter = RedisLimiter(UNREACHABLE_URL, fail_open=True, down_s=60)
    hits = one("token_bucket").hits(SUBJECT, now_us=START)
    verdicts = [await limiter.check(hits, START) for _ in range(3)]
    assert all(v.allowed and v.degraded and not v.decisions for v in verdicts)
    assert limiter.counters.failed_open == 3 and limiter.counters.failed_closed == 0
    warnings = [e for e in logs if e["event"] == "rate_limit_store_unreachable"]
    assert len(warnings) == 1 and warnings[0]["log_level"] == "warning"  # then left alone for down_s
    await limiter.correct(verdicts[0], 10)  # nothing was charged, nothing to correct
    assert limiter.counters.lost_corrections == 0
    await limiter.close()


async def test_a_correction_redis_cannot_take_is_counted_as_lost():
    hits = LimitSet([LimitSpec("tpm", "key", "token_bucket", 1000, unit="tokens")]).hits(SUBJECT, tokens=500,
                                                                                         now_us=START)
    verdict = await MemoryLimiter().check(hits, START)  # admitted, as if by Redis before it went away
    limiter = RedisLimiter(UNREACHABLE_URL)
    await limiter.correct(verdict, 100, START)
    assert limiter.counters.lost_corrections == 1
    await limiter.close()


async def test_unreachable_redis_fails_closed_visibly(logs):
    limiter = RedisLimiter(UNREACHABLE_URL, fail_open=False, down_s=0)
    hits = one("token_bucket").hits(SUBJECT, now_us=START)
    for _ in range(2):
        with pytest.raises(DependencyUnavailable) as refused:
            await limiter.check(hits, START)
        assert refused.value.status == 503 and refused.value.headers["Retry-After"] == "1"
    assert limiter.counters.failed_closed == 2 and limiter.counters.failed_open == 0
    assert len([e for e in logs if e["event"] == "rate_limit_store_unreachable"]) == 2  # down_s=0: retried
    with pytest.raises(DependencyUnavailable):
        await limiter.violations(day_of(START))
    await limiter.close()


async def test_the_record_stream_is_capped_for_every_replica(redis_prefix):
    one_replica = RedisLimiter(REDIS_URL, prefix=redis_prefix, violation_records=5, timeout_s=5)
    another = RedisLimiter(REDIS_URL, prefix=redis_prefix, violation_records=5, timeout_s=5)
    tiny = LimitSet([LimitSpec("tiny", "global", "fixed_window", 1, 3600)]).hits(Subject(), now_us=START)
    await one_replica.check(tiny, START)
    for i in range(8):
        await (one_replica if i % 2 else another).check(tiny, START + i + 1, Subject(ip=f"ip{i}"))
    client = Redis.from_url(REDIS_URL)
    assert await client.xlen(f"{redis_prefix}vlog") == 5
    await client.aclose()
    assert [r["ip"] for r in await another.violation_records({}, 100)] == [f"ip{i}" for i in range(7, 2, -1)]
    assert [r["ip"] for r in await one_replica.violation_records({"ip": "ip3"}, 100)] == ["ip3"]
    for limiter in (one_replica, another):
        await limiter.close()


async def test_unreachable_redis_loses_a_record_visibly_and_cannot_be_read_or_reset():
    tiny = LimitSet([LimitSpec("tiny", "global", "fixed_window", 1, 3600)]).hits(Subject(), now_us=START)
    memory = MemoryLimiter()
    await memory.check(tiny, START)
    refused = await memory.check(tiny, START)  # as if Redis refused, then went away before the record
    limiter = RedisLimiter(UNREACHABLE_URL, fail_open=False, down_s=60)
    await limiter._record(refused, SUBJECT)
    assert limiter.counters.lost_violation_records == 1
    with pytest.raises(DependencyUnavailable):
        await limiter.violation_records({}, 10)
    with pytest.raises(DependencyUnavailable):
        await limiter.reset(["a|b"])
    with pytest.raises(DependencyUnavailable):
        await limiter.buckets({}, START, near=0, most=10, scan=10)
    await limiter.close()


async def test_keys_expire_once_the_limit_is_as_good_as_new(redis_prefix):
    limiter = RedisLimiter(REDIS_URL, prefix=redis_prefix)
    await limiter.check(one("sliding_log", window_s=1).hits(SUBJECT, now_us=START), START)
    client = Redis.from_url(REDIS_URL)
    keys = [k async for k in client.scan_iter(match=f"{redis_prefix}[sl]:*")]
    ttls = [await client.pttl(k) for k in keys]
    assert len(keys) == 2 and all(0 < t <= 2000 for t in ttls), ttls
    await client.aclose()
    await limiter.close()
