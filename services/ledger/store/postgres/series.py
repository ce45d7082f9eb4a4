"""Series rollups on PostgreSQL: add new receipts to the tuple rows and the pre-merged rows (inside
the ingest transaction, rows in key order so two ledgers' batches lock them in one order), read,
prune."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.ledger.analytics.dimensions import COLUMNS, stored_key_tags
from services.ledger.analytics.premerge import merged_deltas
from services.ledger.analytics.query import SeriesQuery, SeriesRows, counters_sql, latency_sql, point_rows_sql
from services.ledger.analytics.retention import Cutoffs, Pruned
from services.ledger.analytics.rollup import COUNTER_COLUMNS, series_deltas
from services.ledger.analytics.sketch import encode, merged
from services.ledger.receipts.parse import Receipt

Conn = Any
KEY = ("grain", "tag", "bucket_us", *COLUMNS)
KEY_TYPES = ("text", "text", "bigint", *("text" for _ in COLUMNS))
_KEYS = ", ".join(KEY)
_N = len(KEY)


def _unnest(types: Sequence[str], first: int = 1) -> str:
    return ", ".join(f"${i}::{t}[]" for i, t in enumerate(types, first))


_SET = ", ".join(f"{c} = series.{c} + excluded.{c}" for c in COUNTER_COLUMNS)
UPSERT = (f"INSERT INTO series ({', '.join(KEY + COUNTER_COLUMNS)})"
          f" SELECT * FROM unnest({_unnest(KEY_TYPES + ('bigint',) * len(COUNTER_COLUMNS))})"
          f" ON CONFLICT ({_KEYS}) DO UPDATE SET {_SET}")
SKETCHES = (f"SELECT {_KEYS}, latency FROM series_latency"
            f" WHERE ({_KEYS}) IN (SELECT * FROM unnest({_unnest(KEY_TYPES)}))")
UPSERT_SKETCH = (f"INSERT INTO series_latency ({_KEYS}, latency)"
                 f" SELECT * FROM unnest({_unnest(KEY_TYPES + ('bytea',))})"
                 f" ON CONFLICT ({_KEYS}) DO UPDATE SET latency = excluded.latency")
MERGED_KEY = ("grain", "dimension", "bucket_us", "value")
MERGED_TYPES = ("text", "text", "bigint", "text")
_MERGED = ", ".join(MERGED_KEY)
# a new row is written with its sketch; an existing one adds the counters, keeps its sketch (locked
# until commit) and returns it, to be rewritten merged by SET_MERGED
UPSERT_MERGED = (f"INSERT INTO series_by_dimension AS s ({_MERGED}, {', '.join(COUNTER_COLUMNS)}, latency)"
                 f" SELECT * FROM unnest({_unnest(MERGED_TYPES + ('bigint',) * len(COUNTER_COLUMNS) + ('bytea',))})"
                 f" ON CONFLICT ({_MERGED}) DO UPDATE SET {_SET.replace('series.', 's.')}"
                 f" RETURNING {_MERGED}, latency, xmax <> 0 AS existed")
SET_MERGED = (f"UPDATE series_by_dimension AS s SET latency = u.latency"
              f" FROM unnest({_unnest(MERGED_TYPES + ('bytea',))}) AS u({_MERGED}, latency)"
              f" WHERE ({', '.join('s.' + c for c in MERGED_KEY)}) = ({', '.join('u.' + c for c in MERGED_KEY)})")


async def key_tags(conn: Conn, key_ids: set[str]) -> dict[str, list[str]]:
    if not key_ids:
        return {}
    return stored_key_tags(await conn.fetch("SELECT key_id, metadata FROM api_keys WHERE key_id = ANY($1::text[])",
                                            sorted(key_ids)))


def _columns(rows: Sequence[Sequence[object]]) -> list[list[object]]:
    return [list(column) for column in zip(*rows, strict=True)]


async def apply(conn: Conn, new: Sequence[Receipt]) -> None:
    """The counters add in one upsert, which also locks each row (in key order) until commit; so
    the sketches, read after it and rewritten merged, cannot be changed by another ledger between
    the read and the write (its upsert of the same row waits for this commit, and its read then
    sees this sketch)."""
    if not new:
        return
    deltas = series_deltas(new, await key_tags(conn, {r.key_id for r in new if r.key_id}))
    ordered = deltas.in_order()
    await conn.execute(UPSERT, *_columns([(*key, *d.counters.values()) for key, d in ordered]))
    old = {tuple(r[:_N]): r[_N] for r in await conn.fetch(SKETCHES, *_columns([key for key, _ in ordered]))}
    await conn.execute(UPSERT_SKETCH, *_columns([(*key, merged(old.get(key), d.latency)) for key, d in ordered]))
    await _apply_merged(conn, merged_deltas(deltas.rows.items()))


async def _apply_merged(conn: Conn, ordered: Sequence[tuple[tuple[object, ...], Any]]) -> None:
    """The pre-merged rows: one upsert (inserting new rows whole, locking existing ones), then the
    existing rows' sketches rewritten merged, as for the tuple rows."""
    rows = [(*key, *d.counters.values(), encode(d.latency)) for key, d in ordered]
    deltas = {key: d for key, d in ordered}
    stale = [r for r in await conn.fetch(UPSERT_MERGED, *_columns(rows)) if r["existed"]]
    if stale:
        await conn.execute(SET_MERGED, *_columns([(*r[:4], merged(r["latency"], deltas[tuple(r[:4])].latency))
                                                 for r in stale]))


def _dollar(i: int) -> str:
    return f"${i}"


async def rows(conn: Conn, q: SeriesQuery) -> SeriesRows:
    if q.row_per_point:
        sql, args = point_rows_sql(q, _dollar)
        return SeriesRows.of_points(q, [tuple(r) for r in await conn.fetch(sql, *args)])
    sql, args = counters_sql(q, _dollar)
    counters = [tuple(v if v is None or isinstance(v, str) else int(v) for v in r)  # SUM(bigint) is numeric
                for r in await conn.fetch(sql, *args)]
    if not q.latency:
        return SeriesRows(counters=counters, latency=[])
    sql, args = latency_sql(q, _dollar)
    return SeriesRows(counters=counters, latency=[tuple(r) for r in await conn.fetch(sql, *args)])


async def prune(conn: Conn, cutoffs: Cutoffs) -> Pruned:
    n = 0
    for grain, cutoff in cutoffs.grains.items():
        status = await conn.execute("DELETE FROM series WHERE grain = $1 AND bucket_us < $2", grain, cutoff)
        n += int(status.split()[-1])
        await conn.execute("DELETE FROM series_latency WHERE grain = $1 AND bucket_us < $2", grain, cutoff)
        await conn.execute("DELETE FROM series_by_dimension WHERE grain = $1 AND bucket_us < $2", grain, cutoff)
    status = await conn.execute("DELETE FROM receipts WHERE ts_us < $1", cutoffs.receipts_us)
    spend = await conn.execute("DELETE FROM spend_buckets WHERE bucket_us < $1", cutoffs.spend_buckets_us)
    # a periodic budget's events of a period that began before the cutoff (0: a one-off budget's, kept)
    events = await conn.execute("DELETE FROM budget_events WHERE period_start_us > 0 AND period_start_us < $1",
                                cutoffs.budget_events_us)
    return Pruned(receipts=int(status.split()[-1]), rows=n, spend_buckets=int(spend.split()[-1]),
                  budget_events=int(events.split()[-1]))
