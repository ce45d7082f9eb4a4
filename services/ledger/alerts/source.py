"""Where rule metrics come from: a `MetricSource` answers "what did the receipts matching these
filters add up to in [first, last)". `SeriesMetrics` reads the ledger's rollups through the
analytics query layer (services/ledger/analytics/series.py): minute rollups while they are kept
(TOLLWAY_RETENTION_MINUTE_DAYS), hour rollups for older windows; the window's start moves to the
nearest minute (hour), its end stays where it is (the current minute is in) or, in hour rollups,
moves to the nearest hour. Latency quantiles come from the rollups' sketch (within 1 %)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from services.ledger.alerts.window_stats import WindowStats
from services.ledger.analytics.retention import US_PER_DAY
from services.ledger.analytics.rollup import STORED_GRAINS
from services.ledger.analytics.series import query_breakdown
from services.ledger.analytics.spec import SeriesSpec
from services.ledger.store.base import LedgerStore

# a rule's filter -> the query layer's dimension
DIMENSION_OF = {"provider": "provider", "model": "model", "key_id": "key", "user": "user", "team": "team",
                "org": "org", "run_id": "run", "agent": "agent", "tag": "tag"}
MARGIN_US = 3600 * 1_000_000  # the pruning that removes old minutes runs every few minutes


class MetricSource(Protocol):
    async def stats(self, filters: Mapping[str, str], first_us: int, last_us: int) -> WindowStats: ...


def _nearest(ts_us: int, width: int) -> int:
    return (ts_us + width // 2) // width * width


class SeriesMetrics:
    def __init__(self, store: LedgerStore, now_us: Callable[[], int], minute_retention_days: float) -> None:
        self.store = store
        self.now_us = now_us
        self.minute_retention_us = int(minute_retention_days * US_PER_DAY)

    def buckets(self, first_us: int, last_us: int) -> tuple[str, int, int]:
        """(grain, since, until): the rollup buckets starting in [since, until) stand for [first, last)."""
        if first_us >= self.now_us() - self.minute_retention_us + MARGIN_US:
            return "minute", _nearest(first_us, STORED_GRAINS["minute"]), last_us
        hour = STORED_GRAINS["hour"]
        since = _nearest(first_us, hour)
        return "hour", since, max(_nearest(last_us, hour), since + hour)

    async def stats(self, filters: Mapping[str, str], first_us: int, last_us: int) -> WindowStats:
        grain, since, until = self.buckets(first_us, last_us)
        spec = SeriesSpec(grain=grain, since_us=since, until_us=until,
                          filters={DIMENSION_OF[name]: (value,) for name, value in filters.items()})
        points = await query_breakdown(self.store, spec)
        if not points:
            return WindowStats()
        [point] = points
        c = point.counters
        _, p95, p99 = point.latency
        return WindowStats(requests=c.requests, errors=c.errors, cost_micros=c.cost_micros,
                           tokens=c.input_tokens + c.output_tokens, cache_hits=c.cache_hits, p95_ms=p95, p99_ms=p99)
