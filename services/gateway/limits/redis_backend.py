"""Redis limiter: N gateway replicas enforce one limit together.

One round trip per check, however many limits apply: one EVALSHA of a script (redis_scripts.py)
that decides every limit and charges all or none, atomically on the server (the script is loaded
again when Redis answers NOSCRIPT, e.g. after a restart).

Time: the gateway passes its own `now` (its clock, or `now_us`), never Redis' TIME, so the
backends behave the same and tests choose the time. Replicas' clocks must agree (NTP): a replica
whose clock is off by d counts its requests d early or late (a state's time never goes back).

Unreachable Redis (connection refused or timed out, bounded by `timeout_s`): with `fail_open` the
request passes unchecked (`Verdict.degraded`), otherwise it is refused with a 503. Either way the
outcome is counted (`counters.failed_open` / `failed_closed`) and logged as a warning; after a
failure Redis is left alone for `down_s` so that an outage costs no wait per request. So is a
pool whose `max_connections` stay busy longer than `timeout_s` (Redis overloaded).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import structlog
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.common.clock import Clock, SystemClock
from services.common.errors import DependencyUnavailable
from services.gateway.limits.decision import Decision, Hit, Verdict
from services.gateway.limits.limiter import LimiterCounters, corrections, distinct
from services.gateway.limits.records import Bucket, Buckets, hit_for, near_enough, take, violation_records
from services.gateway.limits.redis_scripts import CHECK, CORRECT, Script
from services.gateway.limits.resolve import Subject
from services.gateway.limits.spec import OVERSHOOT, LimitSpec
from services.gateway.limits.timebase import DAY_US, day_number, to_us

log = structlog.get_logger("tollway.gateway.limits")

_CODES = {"token_bucket": 1, "sliding_log": 2, "sliding_window": 3, "fixed_window": 4}
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class StoreUnreachable(Exception):
    pass


def params(spec: LimitSpec) -> tuple[int, int, int, int]:
    """The algorithm's code and its parameters a, b, c as the scripts read them."""
    if spec.algorithm == "token_bucket":
        return 1, spec.capacity_units, spec.token_units, spec.refill_units
    if spec.algorithm == "sliding_window":
        return 3, spec.limit, spec.window_ms, OVERSHOOT * spec.limit
    return _CODES[spec.algorithm], spec.limit, spec.window_us, 0


class RedisLimiter:
    def __init__(self, url: str = "redis://127.0.0.1:6379/0", *, fail_open: bool = True,
                 clock: Clock | None = None, prefix: str = "tollway:rl:", timeout_s: float = 0.25,
                 down_s: float = 1.0, max_connections: int = 64, violation_records: int = 10_000) -> None:
        # at most `max_connections` at once; a check waits up to `timeout_s` for a free one
        pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=timeout_s,
                                               socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                               retry=Retry(NoBackoff(), 1))
        self._redis = Redis.from_pool(pool)
        self._clock = clock or SystemClock()
        self.fail_open = fail_open
        self.prefix = prefix
        self.down_s = down_s
        self._down_until = 0.0
        self.violation_records_kept = violation_records  # the stream's length, for all replicas
        self.counters = LimiterCounters()

    def _now(self, now_us: int | None) -> int:
        return to_us(self._clock.now()) if now_us is None else now_us

    def _keys(self, hits: Sequence[Hit]) -> list[str]:
        keys = []
        for hit in hits:
            keys.append(f"{self.prefix}s:{hit.key}")
            keys.append(f"{self.prefix}l:{hit.key}")
        return keys

    def _violations_key(self, day: int) -> str:
        return f"{self.prefix}v:{day}"

    @property
    def _records_key(self) -> str:
        return f"{self.prefix}vlog"

    async def check(self, hits: Sequence[Hit], now_us: int | None = None,
                    subject: Subject | None = None) -> Verdict:
        now = self._now(now_us)
        distinct(hits)
        self.counters.checks += 1
        if not hits:
            return Verdict(True, (), (), now)
        try:
            raw = await self._decide(hits, now, "check")
        except StoreUnreachable:
            if self.fail_open:
                self.counters.failed_open += 1
                return Verdict(True, (), tuple(hits), now, degraded=True)
            self.counters.failed_closed += 1
            raise DependencyUnavailable("rate limits cannot be checked (Redis is unreachable) and the "
                                        "gateway is set to fail closed", headers={"Retry-After": "1"}) from None
        decisions = _decode(hits, raw)
        allowed = all(d.allowed for d in decisions)
        verdict = Verdict(allowed, decisions, tuple(hits), now)
        if not allowed:
            self.counters.refused += 1
            await self._record(verdict, subject)
        return verdict

    async def _record(self, verdict: Verdict, subject: Subject | None) -> None:
        """The refusal's records on the shared stream (capped at `violation_records_kept`): one
        more round trip, for refusals only; a record Redis cannot take is counted, not waited for."""
        pipe = self._redis.pipeline(transaction=False)
        for record in violation_records(verdict, subject):
            pipe.xadd(self._records_key, {"r": json.dumps(record, separators=(",", ":"))},
                      maxlen=self.violation_records_kept, approximate=False)
        try:
            await self._guarded(pipe.execute())
        except StoreUnreachable:
            self.counters.lost_violation_records += 1

    async def peek(self, hits: Sequence[Hit], now_us: int | None = None) -> tuple[Decision, ...]:
        if not hits:
            return ()
        try:
            return _decode(hits, await self._decide(hits, self._now(now_us), "peek"))
        except StoreUnreachable:
            raise DependencyUnavailable("rate-limit usage cannot be read: Redis is unreachable") from None

    async def _decide(self, hits: Sequence[Hit], now: int, mode: str) -> list[int]:
        keys = self._keys(hits)
        keys.append(self._violations_key(now // DAY_US))
        args: list[Any] = [now, mode]
        for hit in hits:
            args.extend(params(hit.spec))
            args.append(hit.cost)
            args.append(hit.spec.name)
        result: list[int] = await self._eval(CHECK, keys, args)
        return result

    async def correct(self, verdict: Verdict, actual_tokens: int, now_us: int | None = None) -> None:
        todo = corrections(verdict, actual_tokens)
        if not todo:
            return
        args: list[Any] = [self._now(now_us)]
        for hit, delta in todo:
            args.extend(params(hit.spec))
            args.append(delta)
            args.append(verdict.at_us)
        try:
            await self._eval(CORRECT, self._keys([hit for hit, _ in todo]), args)
        except StoreUnreachable:
            self.counters.lost_corrections += 1

    async def violations(self, day: date) -> dict[str, int]:
        try:
            raw = await self._guarded(self._redis.hgetall(self._violations_key(day_number(day))))
        except StoreUnreachable:
            raise DependencyUnavailable("rate-limit violations cannot be read: Redis is unreachable") from None
        return {name.decode(): int(count) for name, count in raw.items()}

    async def violation_records(self, wanted: Mapping[str, str], most: int) -> list[dict[str, Any]]:
        """Newest first, read back from the stream a page at a time until `most` match."""
        out: list[dict[str, Any]] = []
        last = "+"
        try:
            while len(out) < most:
                page = await self._guarded(self._redis.xrevrange(self._records_key, max=last, min="-", count=500))
                if last != "+":
                    page = page[1:]  # the first is the last of the page before
                if not page:
                    break
                out += take((json.loads(fields[b"r"]) for _, fields in page), wanted, most - len(out))
                last = page[-1][0].decode()
        except StoreUnreachable:
            raise DependencyUnavailable("rate-limit violations cannot be read: Redis is unreachable") from None
        return out

    async def reset(self, keys: Sequence[str]) -> int:
        if not keys:
            return 0
        stored = [f"{self.prefix}s:{key}" for key in keys] + [f"{self.prefix}l:{key}" for key in keys]
        try:
            pipe = self._redis.pipeline(transaction=True)
            for key in keys:
                pipe.exists(f"{self.prefix}s:{key}")
            pipe.delete(*stored)
            *found, _ = await self._guarded(pipe.execute())
        except StoreUnreachable:
            raise DependencyUnavailable("rate limits cannot be reset: Redis is unreachable") from None
        dropped = sum(1 for f in found if f)
        self.counters.resets += dropped
        return dropped

    async def buckets(self, known: Mapping[str, LimitSpec], now_us: int, *, near: float, most: int,
                      scan: int) -> Buckets:
        """SCAN the state keys (`<prefix>s:*`, `scan` at most) and peek at those of limits in
        force, a hundred per script call."""
        state = f"{self.prefix}s:"
        found: list[Bucket] = []
        hits: list[Hit] = []
        scanned, cursor, cut = 0, 0, False
        try:
            while True:
                cursor, keys = await self._guarded(
                    self._redis.scan(cursor, match=_glob_escape(state) + "*", count=min(1000, scan)))
                for raw in keys:
                    if scanned >= scan:
                        cut = True
                        break
                    scanned += 1
                    hit = hit_for(raw.decode()[len(state):], known)
                    if hit is not None:
                        hits.append(hit)
                if cursor == 0 or scanned >= scan:
                    break
            for i in range(0, len(hits), 100):
                batch = hits[i:i + 100]
                decisions = _decode(batch, await self._decide(batch, now_us, "peek"))
                found += [Bucket(h.key, h.spec, d) for h, d in zip(batch, decisions, strict=True)]
        except StoreUnreachable:
            raise DependencyUnavailable("rate-limit buckets cannot be read: Redis is unreachable") from None
        return Buckets(near_enough(found, near, most), scanned, cursor == 0 and not cut)

    async def close(self) -> None:
        await self._redis.aclose()

    async def _eval(self, script: Script, keys: list[str], args: list[Any]) -> Any:
        try:
            return await self._guarded(self._redis.evalsha(script.sha, len(keys), *keys, *args))
        except NoScriptError:
            await self._guarded(self._redis.script_load(script.source))
            return await self._guarded(self._redis.evalsha(script.sha, len(keys), *keys, *args))

    async def _guarded(self, call: Any) -> Any:
        """Await one Redis call; an unreachable Redis is StoreUnreachable, and is not asked again
        for `down_s` (the calls in between fail at once)."""
        if self._down_until > time.monotonic():
            call.close()
            raise StoreUnreachable
        try:
            return await call
        except _UNREACHABLE as exc:
            self._down_until = time.monotonic() + self.down_s
            log.warning("rate_limit_store_unreachable", error=repr(exc), fail_open=self.fail_open,
                        retry_in_s=self.down_s)
            raise StoreUnreachable from exc


def _glob_escape(text: str) -> str:
    """`text` as a literal in a SCAN MATCH pattern."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def _decode(hits: Sequence[Hit], raw: list[int]) -> tuple[Decision, ...]:
    return tuple(
        Decision(hit.spec.name, raw[i] == 1, hit.spec.capacity, raw[i + 1], raw[i + 2],
                 None if raw[i + 3] < 0 else raw[i + 3])
        for hit, i in zip(hits, range(0, 4 * len(hits), 4), strict=True)
    )
