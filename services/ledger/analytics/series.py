"""The query layer: `query_series(store, spec)` (points per bucket and group) and
`query_breakdown(store, spec)` (one total per group over the range), over any store.

Other parts of the ledger (alert rules, projections) call these directly:

    from services.ledger.analytics.series import query_series, Point
    from services.ledger.analytics.spec import SeriesSpec
    points = await query_series(store, SeriesSpec(grain="minute", since_us=..., until_us=...,
                                                  group_by=("provider",), filters={"team": ("ml",)}))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from services.ledger.analytics.calendar import Bucketer, bucket_start, source_grain
from services.ledger.analytics.dimensions import DIMENSIONS, TAG, tenant_filter
from services.ledger.analytics.merge import Quantiles, point_quantiles
from services.ledger.analytics.query import SeriesQuery, SeriesRows
from services.ledger.analytics.rollup import Counters
from services.ledger.analytics.spec import SeriesSpec

if TYPE_CHECKING:
    from services.ledger.store.base import LedgerStore

COLUMN_OF = {**DIMENSIONS, TAG: TAG}  # API name -> column


@dataclass
class Point:
    start_us: int | None  # the bucket's start; None in a breakdown
    group: dict[str, str | None]  # API name -> value (None: the receipts had none)
    counters: Counters = field(default_factory=Counters)
    latency: Quantiles = (None, None, None)  # P50, P95, P99 of latency_ms, within the sketch's 1 %

    @property
    def error_rate(self) -> float | None:
        return self.counters.errors / self.counters.requests if self.counters.requests else None

    @property
    def cache_hit_rate(self) -> float | None:
        return self.counters.cache_hits / self.counters.requests if self.counters.requests else None

    def latency_ms(self) -> dict[str, float | None]:
        """P50, P95 and P99 of the receipts' latency_ms, within the sketch's 1 % (sketch.py)."""
        p50, p95, p99 = self.latency
        return {"p50": p50, "p95": p95, "p99": p99}


def store_query(spec: SeriesSpec, *, by_bucket: bool) -> SeriesQuery | None:
    """The stored rows a spec reads; None when its filters and its tenant exclude everything."""
    filters = {COLUMN_OF[name]: values for name, values in spec.filters.items()}
    if spec.tenant is not None:
        for column, allowed in tenant_filter(spec.tenant).items():
            values = tuple(v for v in filters.get(column, allowed) if v in allowed)
            if not values:
                return None
            filters[column] = values
    grain = source_grain(spec.grain, spec.tz) if by_bucket else spec.grain
    return SeriesQuery(grain=grain, first_us=spec.since_us, until_us=spec.until_us,
                       group_by=tuple(COLUMN_OF[name] for name in spec.group_by), filters=filters,
                       by_bucket=by_bucket, latency=spec.latency)


def _points(spec: SeriesSpec, rows: SeriesRows, by_bucket: bool) -> list[Point]:
    """Stored rows (already summed per stored bucket and group) into points per query bucket; each
    latency row goes to the point of its (stored bucket, group), as its counters did."""
    n = len(spec.group_by)
    if rows.row_per_point and by_bucket and source_grain(spec.grain, spec.tz) == spec.grain:
        return _own_points(spec, rows)  # stored buckets are the query's: a point per row, in order
    place = Bucketer(spec.grain, spec.tz) if by_bucket else (lambda _: None)
    position: dict[tuple[object, ...], int] = {}  # (query bucket, group) -> point
    of_row: dict[tuple[object, ...], int] = {}  # (stored bucket, *group) -> point
    points: list[Point] = []
    order: list[tuple[int, tuple[str, ...]]] = []  # each point's sort key: (start, group)
    for row in rows.counters:
        if row[1 + n] is None:  # a total over no rows at all (no GROUP BY): SQL's one row of NULLs
            continue
        group = tuple(row[1:1 + n])
        key = (place(row[0]), group)
        counters = Counters(*map(int, row[1 + n:]))
        i = position.get(key)
        if i is None:
            i = position[key] = len(points)
            points.append(Point(key[0], dict(zip(spec.group_by, (v or None for v in group), strict=True)), counters))
            order.append((key[0] or 0, group))
        else:  # several stored buckets in one query bucket (weeks, months, a breakdown)
            points[i].counters.add(counters)
        of_row[tuple(row[:1 + n])] = i
    latency = rows.latency
    if latency:
        owners = [of_row[row[:-1]] for row in latency]
        for point, quantiles in zip(points, point_quantiles(owners, [row[-1] for row in latency], len(points)),
                                    strict=True):
            point.latency = quantiles
    return [points[i] for i in sorted(range(len(points)), key=order.__getitem__)]


def _own_points(spec: SeriesSpec, rows: SeriesRows) -> list[Point]:
    n, names = len(spec.group_by), spec.group_by
    points = [Point(row[0], dict(zip(names, [v or None for v in row[1:1 + n]], strict=True)), Counters(*row[1 + n:]))
              for row in rows.counters]
    if rows.latency:
        sketches = [row[-1] for row in rows.latency]
        for point, quantiles in zip(points, point_quantiles(range(len(points)), sketches, len(points)), strict=True):
            point.latency = quantiles
    return points


async def query_series(store: LedgerStore, spec: SeriesSpec) -> list[Point]:
    """Points per calendar bucket of `spec.grain` and per group, oldest first; buckets and groups
    without receipts are left out."""
    query = store_query(spec, by_bucket=True)
    if query is None:
        return []
    return _points(spec, await store.series_rows(query), by_bucket=True)


async def query_breakdown(store: LedgerStore, spec: SeriesSpec) -> list[Point]:
    """One point per group over [spec.since_us, spec.until_us) of stored grain `spec.grain`."""
    query = store_query(spec, by_bucket=False)
    if query is None:
        return []
    return _points(spec, await store.series_rows(query), by_bucket=False)


__all__ = ["Point", "SeriesSpec", "bucket_start", "query_breakdown", "query_series"]
