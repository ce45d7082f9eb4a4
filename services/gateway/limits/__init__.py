"""Rate limits: four algorithms (token bucket, sliding log, weighted sliding window, fixed UTC
windows) over per-request limits in seven dimensions, with an in-process and a Redis backend.

Per request: `LimitSet.hits(subject, tokens=estimate, now_us=...)` -> `await limiter.check(hits)`
-> a `Verdict` (refused: `raise rate_limited(verdict)`; either way `rate_limit_headers(verdict)`
on the response); after the call `await limiter.correct(verdict, actual_tokens)`.
"""

from services.gateway.limits.decision import Decision, Hit, Verdict
from services.gateway.limits.headers import most_restrictive, rate_limit_headers, rate_limited
from services.gateway.limits.limiter import Limiter, LimiterCounters
from services.gateway.limits.memory import MemoryLimiter
from services.gateway.limits.resolve import LimitSet, Subject
from services.gateway.limits.spec import LimitSpec

__all__ = [
    "Decision", "Hit", "LimitSet", "LimitSpec", "Limiter", "LimiterCounters", "MemoryLimiter",
    "Subject", "Verdict", "most_restrictive", "rate_limit_headers", "rate_limited",
]
