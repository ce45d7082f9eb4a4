"""Series rollups on PostgreSQL: add new receipts (inside the ingest transaction, rows in key
order so two ledgers' batches lock them in one order), read, prune."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.ledger.analytics.dimensions import COLUMNS, stored_key_tags
from services.ledger.analytics.query import SeriesQuery, SeriesRows, counters_sql, latency_sql
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


_ALL = KEY + COUNTER_COLUMNS + ("latency",)
_ROWS = _unnest(KEY_TYPES + ("bigint",) * len(COUNTER_COLUMNS) + ("bytea",))
INSERT = (f"INSERT INTO series ({', '.join(_ALL)}) SELECT * FROM unnest({_ROWS})"
          f" ON CONFLICT ({_KEYS}) DO NOTHING RETURNING {_KEYS}")
LOCK = (f"SELECT {_KEYS}, latency FROM series WHERE ({_KEYS}) IN (SELECT * FROM unnest({_unnest(KEY_TYPES)}))"
        f" ORDER BY {_KEYS} FOR UPDATE")
_U = ", ".join(f"{c} = s.{c} + u.{c}" for c in COUNTER_COLUMNS)
UPDATE = (f"UPDATE series AS s SET {_U}, latency = u.latency"
          f" FROM unnest({_ROWS}) AS u({', '.join(_ALL)})"
          f" WHERE {' AND '.join(f's.{c} = u.{c}' for c in KEY)}")


async def key_tags(conn: Conn, key_ids: set[str]) -> dict[str, list[str]]:
    if not key_ids:
        return {}
    return stored_key_tags(await conn.fetch("SELECT key_id, metadata FROM api_keys WHERE key_id = ANY($1::text[])",
                                            sorted(key_ids)))


def _columns(rows: Sequence[Sequence[object]]) -> list[list[object]]:
    return [list(column) for column in zip(*rows, strict=True)]


async def apply(conn: Conn, new: Sequence[Receipt]) -> None:
    """New rows are inserted whole; rows that exist are locked (in key order), their sketches read
    and merged, and updated: a concurrent ledger's batch waits for the lock, so no sketch is lost."""
    if not new:
        return
    deltas = series_deltas(new, await key_tags(conn, {r.key_id for r in new if r.key_id}))
    ordered = deltas.in_order()
    full = [(*key, *d.counters.values(), encode(d.latency)) for key, d in ordered]
    inserted = {tuple(r) for r in await conn.fetch(INSERT, *_columns(full))}
    rest = [(key, d) for key, d in ordered if key not in inserted]
    if not rest:
        return
    old = {tuple(r[:_N]): r[_N] for r in await conn.fetch(LOCK, *_columns([key for key, _ in rest]))}
    await conn.execute(UPDATE, *_columns([(*key, *d.counters.values(), merged(old.get(key), d.latency))
                                          for key, d in rest]))


def _dollar(i: int) -> str:
    return f"${i}"


async def rows(conn: Conn, q: SeriesQuery) -> SeriesRows:
    sql, args = counters_sql(q, _dollar)
    counters = [tuple(v if v is None or isinstance(v, str) else int(v) for v in r)  # SUM(bigint) is numeric
                for r in await conn.fetch(sql, *args)]
    sql, args = latency_sql(q, _dollar)
    return SeriesRows(counters=counters, latency=[tuple(r) for r in await conn.fetch(sql, *args)])


async def prune(conn: Conn, cutoffs: Cutoffs) -> Pruned:
    n = 0
    for grain, cutoff in cutoffs.grains.items():
        status = await conn.execute("DELETE FROM series WHERE grain = $1 AND bucket_us < $2", grain, cutoff)
        n += int(status.split()[-1])
    status = await conn.execute("DELETE FROM receipts WHERE ts_us < $1", cutoffs.receipts_us)
    return Pruned(receipts=int(status.split()[-1]), rows=n)
