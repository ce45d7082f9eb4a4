"""What the store is asked for (a `SeriesQuery` over one stored grain) and what it answers
(`SeriesRows`), and the SQL both backends run for it (only the placeholders differ)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.ledger.analytics.dimensions import TAG, UNTAGGED
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


@dataclass
class SeriesRows:
    counters: list[tuple[Any, ...]]  # (bucket_us, *group values, *COUNTER_COLUMNS); bucket_us 0 in a breakdown
    latency: list[tuple[Any, ...]]  # (bucket_us, *group values, sketch): one per stored row, to merge


def _where(q: SeriesQuery, param: Callable[[int], str]) -> tuple[str, list[object]]:
    args: list[object] = [q.grain, q.first_us, q.until_us]
    clauses = [f"grain = {param(1)}", f"bucket_us >= {param(2)}", f"bucket_us < {param(3)}"]
    if not q.tagged:
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
        clauses.append(f"{column} IN ({', '.join(marks)})")
    return " AND ".join(clauses), args


def _keys(q: SeriesQuery) -> list[str]:
    return (["bucket_us"] if q.by_bucket else []) + list(q.group_by)


def counters_sql(q: SeriesQuery, param: Callable[[int], str]) -> tuple[str, list[object]]:
    where, args = _where(q, param)
    keys = _keys(q)
    head = ", ".join((keys if q.by_bucket else ["0", *keys]) + [f"SUM({c})" for c in COUNTER_COLUMNS])
    group = f" GROUP BY {', '.join(keys)}" if keys else ""
    return f"SELECT {head} FROM series WHERE {where}{group}", args


def latency_sql(q: SeriesQuery, param: Callable[[int], str]) -> tuple[str, list[object]]:
    """Every row's sketch (sketches do not add in SQL: merge.py merges them)."""
    where, args = _where(q, param)
    keys = _keys(q)
    head = ", ".join((keys if q.by_bucket else ["0", *keys]) + ["latency"])
    return f"SELECT {head} FROM series_latency WHERE {where}", args
