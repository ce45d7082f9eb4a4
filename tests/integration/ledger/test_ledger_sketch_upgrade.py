"""Migration 0013 on SQLite and PostgreSQL: every stored latency sketch of the first form (int32
pairs) becomes byte for byte what ingest now writes (16-bit pairs, services/ledger/analytics/sketch.py),
in the tuple rows and the pre-merged rows, and the extreme cases (the zero bucket, an index past
16 bits, a count past 16 bits) convert as sketch_v1.upgraded says."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import asyncpg

from services.common.clock import parse_utc
from services.common.settings import Settings
from services.ledger.analytics.sketch import MAX_INDEX, ZERO_INDEX, decode, encode
from services.ledger.analytics.sketch_v1 import ZERO_INDEX_V1, encode_v1
from services.ledger.receipts.parse import parse_receipt
from services.ledger.store.factory import make_store
from services.ledger.store.migrations import migrations
from services.ledger.times import US_PER_S, iso, to_us
from tests.integration.ledger.ledger_factory import make_receipt
from tests.integration.ledger.old_books import (
    SKETCH_TABLES,
    book_rows,
    postgres_sketches_back,
    sqlite_sketches_back,
)

DAY = to_us(parse_utc("2026-11-23T00:00:00Z"))
VERSION = next(m.version for m in migrations("sqlite") if m.name == "sketch_16bit_pairs")
EXTREME_V1 = encode_v1({ZERO_INDEX_V1: 3, -5: 1, 10: 70_000, MAX_INDEX: 1, 40_000: 2})
EXTREME = {ZERO_INDEX: 3, -5: 1, 10: 70_000, MAX_INDEX: 3}
ROW = ("day", "model", 0, "extreme")


async def _stored(backend: str, database_url: str, tmp_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for table, keys in SKETCH_TABLES.items():
        sql = f"SELECT {', '.join(keys)}, latency FROM {table} ORDER BY {', '.join(keys)}"
        rows = await book_rows(backend, database_url, tmp_path, sql)
        out[table] = [(*r[:-1], bytes(r[-1])) for r in rows]
    return out


async def _back_to_first_form(backend: str, database_url: str, tmp_path: Path) -> None:
    """The book as the release before 0013 left it, with one more pre-merged row of extreme buckets."""
    insert = ("INSERT INTO series_by_dimension (grain, dimension, bucket_us, value, cost_micros, requests, errors,"
              " input_tokens, output_tokens, cached_tokens, cache_hits, saved_micros, latency)"
              " VALUES ({}, 1, 70007, 0, 0, 0, 0, 0, 0, {})")
    undo = f"DELETE FROM schema_version WHERE version = {VERSION}"
    if backend == "sqlite":
        with sqlite3.connect(tmp_path / "ledger" / "ledger.db") as conn:
            sqlite_sketches_back(conn, tuple(SKETCH_TABLES))
            conn.execute(insert.format("?, ?, ?, ?", "?"), (*ROW, EXTREME_V1))
            conn.execute(undo)
        return
    conn = await asyncpg.connect(database_url)
    try:
        await postgres_sketches_back(conn, tuple(SKETCH_TABLES))
        await conn.execute(insert.format("$1, $2, $3, $4", "$5"), *ROW, EXTREME_V1)
        await conn.execute(undo)
    finally:
        await conn.close()


async def test_the_migration_converts_every_sketch_to_what_ingest_writes(backend: str, database_url: str,
                                                                         tmp_path: Path) -> None:
    store = make_store(Settings(artifacts_dir=tmp_path, database_url=database_url))
    await store.open()
    receipts = [make_receipt(f"0.{i + 1:06d}", provider=f"p{i % 3}", model=f"m{i % 2}", team=["ml", "web"][i % 2],
                             timestamp=iso(DAY + i * 61 * US_PER_S), latency_ms=[0.0, 3.0 + i * i, 80_000.0][i % 3])
                for i in range(90)]
    parsed = [parse_receipt(r, now_us=DAY + 86_400 * US_PER_S) for r in receipts]
    for i in range(0, len(parsed), 25):
        await store.ingest(parsed[i:i + 25], DAY + 86_400 * US_PER_S)
    await store.close()
    ingested = await _stored(backend, database_url, tmp_path)
    assert len(ingested["series_latency"]) > 100 and len(ingested["series_by_dimension"]) > 100
    assert any(ZERO_INDEX in decode(r[-1]) for r in ingested["series_latency"])

    await _back_to_first_form(backend, database_url, tmp_path)
    first = await _stored(backend, database_url, tmp_path)
    assert first["series_latency"] != ingested["series_latency"]  # int32 pairs: other bytes
    store = make_store(Settings(artifacts_dir=tmp_path, database_url=database_url))
    await store.open()  # applies 0013
    await store.close()
    upgraded = await _stored(backend, database_url, tmp_path)
    assert upgraded["series_latency"] == ingested["series_latency"]
    extreme = [r for r in upgraded["series_by_dimension"] if r[:4] == ROW]
    assert extreme == [(*ROW, encode(EXTREME))] and decode(extreme[0][-1]) == EXTREME
    assert [r for r in upgraded["series_by_dimension"] if r[:4] != ROW] == ingested["series_by_dimension"]
