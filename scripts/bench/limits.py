"""Rate-limiter micro-benchmark: the time one request spends in the limiter (resolve its limits,
check them, build its headers), side by side in one run for no limiter, the in-process limiter and
the Redis limiter, with three limits per request (key RPM token bucket, user TPM weighted sliding
window, org requests per day fixed window), and the Redis round trips per check (counted by Redis).

Usage: python scripts/bench/limits.py [--checks N] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from redis.asyncio import Redis  # noqa: E402

from services.common.clock import SystemClock  # noqa: E402
from services.gateway.limits import LimitSet, LimitSpec, MemoryLimiter, Subject, rate_limit_headers  # noqa: E402
from services.gateway.limits.limiter import Limiter  # noqa: E402
from services.gateway.limits.redis_backend import RedisLimiter  # noqa: E402
from services.gateway.limits.timebase import now_us  # noqa: E402

LIMITS = LimitSet([
    LimitSpec("key-rpm", "key", "token_bucket", 10**9, 60),
    LimitSpec("user-tpm", "user", "sliding_window", 10**9, 60, unit="tokens"),
    LimitSpec("org-rpd", "org", "fixed_window", 10**9, 86400),
])
SUBJECTS = [Subject(key=f"key-{i}", user=f"user-{i % 100}", org=f"org-{i % 10}") for i in range(1000)]


def one_request(limiter: Limiter | None) -> Callable[[int], Awaitable[object]]:
    clock = SystemClock()

    async def nothing(i: int) -> object:
        return None

    async def limited(i: int) -> object:
        assert limiter is not None
        hits = LIMITS.hits(SUBJECTS[i % len(SUBJECTS)], tokens=300, now_us=now_us(clock))
        verdict = await limiter.check(hits)
        assert verdict.allowed and not verdict.degraded
        return rate_limit_headers(verdict)

    return nothing if limiter is None else limited


async def timings(request: Callable[[int], Awaitable[object]], checks: int) -> list[float]:
    for i in range(min(checks, 2000)):  # warm-up
        await request(i)
    out = []
    for i in range(checks):
        start = time.perf_counter_ns()
        await request(i)
        out.append((time.perf_counter_ns() - start) / 1000)
    return out


async def evalsha_calls(client: Redis) -> int:
    """EVALSHA commands Redis has served (what the scripts call inside them is not counted)."""
    return int((await client.info("commandstats")).get("cmdstat_evalsha", {}).get("calls", 0))


async def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checks", type=int, default=20000)
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = p.parse_args(argv)
    runs = args.checks + min(args.checks, 2000)  # measured and warm-up requests

    rows: list[tuple[str, list[float], str]] = []
    rows.append(("no limiter (baseline)", await timings(one_request(None), args.checks), "-"))
    memory = MemoryLimiter()
    rows.append(("in-process limiter, 3 limits", await timings(one_request(memory), args.checks), "0"))

    prefix = f"bench:limits:{uuid.uuid4().hex[:8]}:"
    shared = RedisLimiter(args.redis_url, prefix=prefix)
    server = Redis.from_url(args.redis_url)
    try:
        await one_request(shared)(0)  # loads the script, opens a connection
        sent = 0
        send = shared._redis.execute_command

        async def counted(*a: object, **kw: object) -> object:
            nonlocal sent
            sent += 1
            return await send(*a, **kw)

        shared._redis.execute_command = counted  # type: ignore[method-assign]
        before = await evalsha_calls(server)
        redis_times = await timings(one_request(shared), args.checks)
        served = await evalsha_calls(server) - before
        rows.append(("Redis limiter, 3 limits", redis_times,
                     f"{sent / runs:.2f} sent, {served / runs:.2f} EVALSHA served"))
        rows.append(("(for scale: one Redis PING)", await timings(lambda i: server.ping(), args.checks), "1"))
    finally:
        keys = [k async for k in server.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await server.delete(*keys)
        await server.aclose()
        await shared.close()

    base = statistics.median(rows[0][1])
    print(f"{args.checks} sequential checks each, Python {sys.version.split()[0]}\n")
    print("| limiter | p50 µs | p99 µs | p50 over baseline µs | Redis commands per check |")
    print("|---|---|---|---|---|")
    for name, samples, trips in rows:
        q = statistics.quantiles(samples, n=100)
        print(f"| {name} | {q[49]:.1f} | {q[98]:.1f} | {q[49] - base:.1f} | {trips} |")


if __name__ == "__main__":
    asyncio.run(main())
