"""Pre-merged rollup rows: the total and each single dimension, per (grain, bucket).

The tuple rows (table `series`/`series_latency`, one per stored bucket and whole dimension tuple) answer
any grouping, but a query must read and merge one sketch per tuple. Most queries group or filter by
at most one dimension, so ingest also adds each receipt to the rows of table `series_by_dimension`,
keyed (grain, dimension, bucket, value): dimension '' (the total, value ''), each dimension column but
`run_id` (its value), and `tag` (each tag of the receipt's key). A query whose group_by and filters
name one such dimension (or none) reads those rows instead: one sketch per bucket and value.

`run_id` is left out: a run is usually one tuple or a few, so its rows would be as many as the tuple
rows and save a query little, while costing ingest one more row per run and bucket.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.ledger.analytics.dimensions import COLUMNS, TAG, UNTAGGED
from services.ledger.analytics.rollup import Delta, SeriesKey, sum_deltas

TOTAL = ""  # the dimension (and value) of the total rows
MERGED_COLUMNS = tuple(c for c in COLUMNS if c != "run_id")
DIMENSIONS = (TOTAL, *MERGED_COLUMNS, TAG)  # what `series_by_dimension.dimension` holds
_PICKED = tuple((i, c) for i, c in enumerate(COLUMNS) if c in MERGED_COLUMNS)
MergedKey = tuple[str, str, int, str]  # (grain, dimension, bucket start in us, value): the primary key


def merged_deltas(rows: Iterable[tuple[SeriesKey, Delta]]) -> list[tuple[MergedKey, Delta]]:
    """The tuple rows' deltas folded into the pre-merged rows', sorted by key (a stable lock order)."""
    members: dict[MergedKey, list[Delta]] = {}
    for (grain, tag, bucket, dims), delta in rows:
        if tag == UNTAGGED:
            keys = [(grain, TOTAL, bucket, TOTAL), *((grain, column, bucket, dims[i]) for i, column in _PICKED)]
        else:
            keys = [(grain, TAG, bucket, tag)]
        for key in keys:
            listed = members.get(key)
            if listed is None:
                members[key] = [delta]
            else:
                listed.append(delta)
    return [(key, sum_deltas(members[key])) for key in sorted(members)]


def merged_dimension(group_by: tuple[str, ...], filters: Iterable[str]) -> str | None:
    """The pre-merged dimension a query over these grouping and filter columns can read, or None
    when it names more than one dimension (or run_id): it reads the tuple rows."""
    named = set(group_by) | set(filters)
    if not named:
        return TOTAL
    if len(named) == 1:
        (column,) = named
        if column in DIMENSIONS:
            return column
    return None
