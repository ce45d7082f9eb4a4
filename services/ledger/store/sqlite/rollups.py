"""Rollup rows (grain x bucket x provider, integer micros): upsert new receipts, prune, read."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from services.ledger.receipts.parse import Receipt
from services.ledger.windows.buckets import GRAINS
from services.ledger.windows.rollup import Row, Tally, rollup_deltas

UPSERT = """
INSERT INTO rollups (grain, bucket_us, provider, cost_micros, requests, input_tokens, output_tokens,
                     saved_micros, cache_hits)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (grain, bucket_us, provider) DO UPDATE SET
    cost_micros = cost_micros + excluded.cost_micros,
    requests = requests + excluded.requests,
    input_tokens = input_tokens + excluded.input_tokens,
    output_tokens = output_tokens + excluded.output_tokens,
    saved_micros = saved_micros + excluded.saved_micros,
    cache_hits = cache_hits + excluded.cache_hits
"""


def apply(conn: sqlite3.Connection, new: Sequence[Receipt], now_us: int) -> None:
    """Add new receipts to their buckets and drop buckets past each window's retention."""
    deltas = rollup_deltas(new, now_us)
    conn.executemany(UPSERT, [(g, start, p, t.cost_micros, t.requests, t.input_tokens, t.output_tokens,
                               t.saved_micros, t.cache_hits) for (g, start, p), t in deltas.items()])
    for name, grain in GRAINS.items():
        conn.execute("DELETE FROM rollups WHERE grain = ? AND bucket_us < ?",
                     (name, grain.cutoff(now_us)))


def window(conn: sqlite3.Connection, grain: str, first_us: int, last_us: int) -> list[Row]:
    rows = conn.execute(
        "SELECT bucket_us, provider, cost_micros, requests, input_tokens, output_tokens, saved_micros, cache_hits"
        " FROM rollups WHERE grain = ? AND bucket_us BETWEEN ? AND ? ORDER BY bucket_us, provider",
        (grain, first_us, last_us))
    return [(start, provider, Tally(cost, requests, inp, out, saved, hits))
            for start, provider, cost, requests, inp, out, saved, hits in rows]
