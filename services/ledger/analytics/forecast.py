"""Projections and spikes read from the rollups through the query layer (series.py): daily spend
for `projection.project`, hourly cost or error rate for `anomaly.spikes`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING

from services.common.money import from_micros
from services.ledger.analytics.anomaly import ABSOLUTE_FLOOR, Spike, spikes
from services.ledger.analytics.calendar import bucket_start
from services.ledger.analytics.insight_params import SEASONS, AnomalyQuery, ProjectionQuery
from services.ledger.analytics.projection import HORIZON_DAYS, Projection, project
from services.ledger.analytics.rollup import STORED_GRAINS
from services.ledger.analytics.series import query_series
from services.ledger.analytics.spec import SeriesSpec

if TYPE_CHECKING:
    from services.ledger.store.base import LedgerStore

HOUR_US = STORED_GRAINS["hour"]
SIX_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class ProjectionAnswer:
    starts_us: int  # the horizon's first instant (the start of the day holding the query's instant)
    history_since_us: int  # the first day fitted (the first with receipts in the look-back)
    daily_micros: list[int]  # the fitted days, oldest first
    projection: Projection | None  # None: fewer than MIN_POINTS days of history


def _day_starts(first_us: int, until_us: int, tz: tzinfo) -> list[int]:
    """Starts of the days from the one at `first_us` up to (not including) the one at `until_us`."""
    starts, at = [], first_us
    while at < until_us:
        starts.append(at)
        at = bucket_start(at + 36 * HOUR_US, "day", tz)  # past a 23- or 25-hour day, to the next start
    return starts


async def projection(store: LedgerStore, query: ProjectionQuery, tenant: str | None) -> ProjectionAnswer:
    today = bucket_start(query.at_us, "day", query.tz)
    first = bucket_start(today - query.history_days * 24 * HOUR_US, "day", query.tz)
    spec = SeriesSpec(grain="day", since_us=first, until_us=today, filters=query.filters, tz=query.tz, tenant=tenant)
    by_day = {p.start_us: p.counters.cost_micros for p in await query_series(store, spec)}
    if not by_day:
        return ProjectionAnswer(today, today, [], None)
    days = _day_starts(min(s for s in by_day if s is not None), today, query.tz)
    daily = [by_day.get(d, 0) for d in days]
    return ProjectionAnswer(today, days[0], daily, project(daily, HORIZON_DAYS[query.horizon], query.confidence))


@dataclass(frozen=True)
class AnomalyAnswer:
    hours: int  # hours examined
    spikes: list[Spike]


async def anomalies(store: LedgerStore, query: AnomalyQuery, tenant: str | None) -> AnomalyAnswer:
    period = SEASONS[query.season]
    first = bucket_start(query.since_us, "hour", UTC)
    history_first = first - query.seasons * period
    spec = SeriesSpec(grain="hour", since_us=history_first, until_us=query.until_us, filters=query.filters,
                      tenant=tenant)
    points = await query_series(store, spec)
    starts = list(range(first, query.until_us, HOUR_US))
    values: dict[int, Decimal] = {}
    if query.metric == "cost":
        if points:  # an hour without receipts after the first one read spent $0
            for hour in range(min(p.start_us or 0 for p in points), query.until_us, HOUR_US):
                values[hour] = Decimal(0)
        for p in points:
            values[p.start_us or 0] = from_micros(p.counters.cost_micros)
    else:
        for p in points:
            if p.counters.requests >= query.min_requests:
                values[p.start_us or 0] = (Decimal(p.counters.errors) / p.counters.requests).quantize(SIX_PLACES)
    return AnomalyAnswer(len(starts), spikes(values, starts, period, query.seasons, query.threshold, ABSOLUTE_FLOOR))
