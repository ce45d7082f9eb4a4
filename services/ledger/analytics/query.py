"""What the store is asked for (a `SeriesQuery` over one stored grain) and what it answers
(`SeriesRows`), and the SQL both backends run for it (only the placeholders differ): over the
pre-merged rows of `series_by_dimension` when the query names at most one dimension (premerge.py),
else over the tuple rows of `series` and `series_latency`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.ledger.analytics.dimensions import TAG, UNTAGGED
from services.ledger.analytics.premerge import merged_dimension
from services.ledger.analytics.rollup import COUNTER_COLUMNS


@dataclass(frozen=True)
class SeriesQuery:
    grain: str  # a stored grain: minute | hour | day
    first_us: int  # rows with bucket start in [first_us, until_us)
    until_us: int
    group_by: tuple[str, ...] = ()  # columns, 'tag' among them when grouped by tag
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)  # column -> any of these values
    by_bucket: bool = True  # False: one total per group over the range (a breakdown)
    latency: bool = True  # False: the sketches are not read (SeriesRows.latency is empty)

    @property
    def tagged(self) -> bool:
        """Read the tag rows (grouped or filtered by tag) instead of the untagged ones."""
        return TAG in self.group_by or TAG in self.filters

    @property
    def merged(self) -> str | None:
        """The pre-merged dimension it reads (premerge.py), or None: the tuple rows."""
        return merged_dimension(self.group_by, self.filters)

    @property
    def row_per_point(self) -> bool:
        """Each stored row it reads is one point of the answer, so nothing is summed: a series over
        pre-merged rows grouped by their dimension, or over the total or one filtered value."""
        return self.by_bucket and self.merged is not None and (
            bool(self.group_by) or all(len(values) == 1 for values in self.filters.values()))


@dataclass
class SeriesRows:
    counters: list[tuple[Any, ...]]  # (bucket_us, *group values, *COUNTER_COLUMNS); bucket_us 0 in a breakdown
    latency: list[tuple[Any, ...]]  # (bucket_us, *group values, sketch): one per stored row, to merge
    row_per_point: bool = False  # of_points: each row a distinct (bucket, group), in that order; latency aligned

    @classmethod
    def of_points(cls, q: SeriesQuery, rows: list[tuple[Any, ...]]) -> SeriesRows:
        """From point_rows_sql's rows: (bucket_us, *group values, *COUNTER_COLUMNS[, sketch])."""
        if not q.latency:
            return cls(counters=rows, latency=[], row_per_point=True)
        keys = len(_keys(q))
        return cls(counters=[row[:-1] for row in rows], latency=[(*row[:keys], row[-1]) for row in rows],
                   row_per_point=True)


def _where(q: SeriesQuery, param: Callable[[int], str]) -> tuple[str, list[object]]:
    args: list[object] = [q.grain, q.first_us, q.until_us]
    clauses = [f"grain = {param(1)}", f"bucket_us >= {param(2)}", f"bucket_us < {param(3)}"]
    dimension = q.merged
    if dimension is not None:
        args.append(dimension)
        clauses.append(f"dimension = {param(len(args))}")
    elif not q.tagged:
        args.append(UNTAGGED)
        clauses.append(f"tag = {param(len(args))}")
    elif TAG not in q.filters:
        args.append(UNTAGGED)
        clauses.append(f"tag <> {param(len(args))}")
    for column, values in sorted(q.filters.items()):
        marks = []
        for value in values:
            args.append(value)
            marks.append(param(len(args)))
        clauses.append(f"{'value' if dimension is not None else column} IN ({', '.join(marks)})")
    return " AND ".join(clauses), args


def _keys(q: SeriesQuery) -> list[str]:
    """The columns a query groups by; a pre-merged row's dimension value is its `value` column."""
    group = ["value"] if q.merged is not None and q.group_by else list(q.group_by)
    return (["bucket_us"] if q.by_bucket else []) + group


def _table(q: SeriesQuery, tuples: str) -> str:
    return "series_by_dimension" if q.merged is not None else tuples


def counters_sql(q: SeriesQuery, param: Callable[[int], str]) -> tuple[str, list[object]]:
    where, args = _where(q, param)
    keys = _keys(q)
    head = ", ".join((keys if q.by_bucket else ["0", *keys]) + [f"SUM({c})" for c in COUNTER_COLUMNS])
    group = f" GROUP BY {', '.join(keys)}" if keys else ""
    return f"SELECT {head} FROM {_table(q, 'series')} WHERE {where}{group}", args


def latency_sql(q: SeriesQuery, param: Callable[[int], str]) -> tuple[str, list[object]]:
    """Every row's sketch (sketches do not add in SQL: merge.py merges them)."""
    where, args = _where(q, param)
    keys = _keys(q)
    head = ", ".join((keys if q.by_bucket else ["0", *keys]) + ["latency"])
    return f"SELECT {head} FROM {_table(q, 'series_latency')} WHERE {where}", args


def point_rows_sql(q: SeriesQuery, param: Callable[[int], str]) -> tuple[str, list[object]]:
    """A `row_per_point` query's rows, counters and sketch together, in one pass (SeriesRows.of_points),
    in (bucket, group) order: the primary key's, and Python's order of the values (bytewise in both
    stores: SQLite's BINARY, PostgreSQL's "C" collation)."""
    where, args = _where(q, param)
    keys = _keys(q)
    head = ", ".join(keys + list(COUNTER_COLUMNS) + (["latency"] if q.latency else []))
    return f"SELECT {head} FROM series_by_dimension WHERE {where} ORDER BY {', '.join(keys)}", args
