"""Which limiter a gateway runs: in-process (default) or Redis (replicas share their limits)."""

from __future__ import annotations

from services.common.clock import Clock
from services.common.settings import Settings
from services.gateway.limits.limiter import Limiter
from services.gateway.limits.memory import MemoryLimiter
from services.gateway.limits.redis_backend import RedisLimiter


def make_limiter(settings: Settings, clock: Clock) -> Limiter:
    if settings.rate_limit_backend == "redis":
        return RedisLimiter(settings.redis_url, fail_open=settings.rate_limit_fail_open, clock=clock)
    return MemoryLimiter(clock=clock)
