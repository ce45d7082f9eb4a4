"""Series rollups on SQLite: add new receipts to the tuple rows and the pre-merged rows (inside the
ingest transaction; a row's sketch is merged by the upsert itself, through a SQL function of the
connection, sketch_sql.py), read, prune."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from services.ledger.analytics.dimensions import COLUMNS, stored_key_tags
from services.ledger.analytics.premerge import merged_deltas
from services.ledger.analytics.query import SeriesQuery, SeriesRows, counters_sql, latency_sql, point_rows_sql
from services.ledger.analytics.retention import Cutoffs, Pruned
from services.ledger.analytics.rollup import COUNTER_COLUMNS, Delta, series_deltas
from services.ledger.analytics.sketch import encode
from services.ledger.receipts.parse import Receipt
from services.ledger.store.sqlite.sketch_sql import MERGE

KEY = ("grain", "tag", "bucket_us", *COLUMNS)
_SET = ", ".join(f"{c} = {c} + excluded.{c}" for c in COUNTER_COLUMNS)
UPSERT = (f"INSERT INTO series ({', '.join(KEY + COUNTER_COLUMNS)})"
          f" VALUES ({', '.join('?' * (len(KEY) + len(COUNTER_COLUMNS)))})"
          f" ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {_SET}")
UPSERT_SKETCH = (f"INSERT INTO series_latency ({', '.join(KEY)}, latency) VALUES ({', '.join('?' * (len(KEY) + 1))})"
                 f" ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET latency = {MERGE}(latency, excluded.latency)")
MERGED_KEY = ("grain", "dimension", "bucket_us", "value")
UPSERT_MERGED = (f"INSERT INTO series_by_dimension ({', '.join(MERGED_KEY + COUNTER_COLUMNS)}, latency)"
                 f" VALUES ({', '.join('?' * (len(MERGED_KEY) + len(COUNTER_COLUMNS) + 1))})"
                 f" ON CONFLICT ({', '.join(MERGED_KEY)}) DO UPDATE SET {_SET},"
                 f" latency = {MERGE}(latency, excluded.latency)")


def key_tags(conn: sqlite3.Connection, key_ids: set[str]) -> dict[str, list[str]]:
    """Each key's tags from its metadata (a key whose metadata cannot be read has none)."""
    if not key_ids:
        return {}
    marks = ", ".join("?" * len(key_ids))
    return stored_key_tags(conn.execute(f"SELECT key_id, metadata FROM api_keys WHERE key_id IN ({marks})",
                                        sorted(key_ids)))


def apply(conn: sqlite3.Connection, new: Sequence[Receipt]) -> None:
    if not new:
        return
    deltas = series_deltas(new, key_tags(conn, {r.key_id for r in new if r.key_id}))
    ordered = deltas.in_order()
    blobs: dict[int, bytes] = {}  # by delta: a delta is shared by many rows (premerge.sum_deltas)

    def blob(delta: Delta) -> bytes:
        encoded = blobs.get(id(delta))
        if encoded is None:
            encoded = blobs[id(delta)] = encode(delta.latency)
        return encoded

    conn.executemany(UPSERT, [(*key, *delta.counters.values()) for key, delta in ordered])
    conn.executemany(UPSERT_SKETCH, [(*key, blob(delta)) for key, delta in ordered])
    conn.executemany(UPSERT_MERGED, [(*key, *delta.counters.values(), blob(delta))
                                     for key, delta in merged_deltas(deltas.rows.items())])


def rows(conn: sqlite3.Connection, q: SeriesQuery) -> SeriesRows:
    if q.row_per_point:
        sql, args = point_rows_sql(q, lambda _: "?")
        return SeriesRows.of_points(q, conn.execute(sql, args).fetchall())
    sql, args = counters_sql(q, lambda _: "?")
    counters = conn.execute(sql, args).fetchall()
    if not q.latency:
        return SeriesRows(counters=counters, latency=[])
    sql, args = latency_sql(q, lambda _: "?")
    return SeriesRows(counters=counters, latency=conn.execute(sql, args).fetchall())


def prune(conn: sqlite3.Connection, cutoffs: Cutoffs) -> Pruned:
    n = 0
    for grain, cutoff in cutoffs.grains.items():
        n += conn.execute("DELETE FROM series WHERE grain = ? AND bucket_us < ?", (grain, cutoff)).rowcount
        conn.execute("DELETE FROM series_latency WHERE grain = ? AND bucket_us < ?", (grain, cutoff))
        conn.execute("DELETE FROM series_by_dimension WHERE grain = ? AND bucket_us < ?", (grain, cutoff))
    receipts = conn.execute("DELETE FROM receipts WHERE ts_us < ?", (cutoffs.receipts_us,)).rowcount
    spend = conn.execute("DELETE FROM spend_buckets WHERE bucket_us < ?", (cutoffs.spend_buckets_us,)).rowcount
    # a periodic budget's events of a period that began before the cutoff (0: a one-off budget's, kept)
    events = conn.execute("DELETE FROM budget_events WHERE period_start_us > 0 AND period_start_us < ?",
                          (cutoffs.budget_events_us,)).rowcount
    return Pruned(receipts=receipts, rows=n, spend_buckets=spend, budget_events=events)
