"""The pre-merged series rows on SQLite and PostgreSQL: migration 0009 fills them from a book's
stored tuple rows to exactly what ingest writes, and a query that reads them (a single-dimension
filter or grouping) answers what the receipts say."""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg

from services.common.clock import parse_utc
from services.common.settings import Settings
from services.ledger.analytics.retention import Cutoffs
from services.ledger.analytics.series import query_breakdown, query_series
from services.ledger.analytics.sketch import decode, index_of, quantiles
from services.ledger.analytics.spec import SeriesSpec
from services.ledger.keys.model import VirtualKey
from services.ledger.receipts.parse import parse_receipt
from services.ledger.store.factory import make_store
from services.ledger.store.migrations import migrations
from services.ledger.times import US_PER_S, iso, to_us
from tests.integration.ledger.ledger_factory import make_receipt
from tests.integration.ledger.old_books import book_rows, postgres_sketches_back, sqlite_sketches_back

DAY = to_us(parse_utc("2026-11-23T00:00:00Z"))
HOUR = 3_600 * US_PER_S
VERSION = next(m.version for m in migrations("sqlite") if m.name == "series_by_dimension")
SKETCH_VERSION = next(m.version for m in migrations("sqlite") if m.name == "sketch_16bit_pairs")
KEYS = {"kA": {"env": "ci"}, "kB": {"env": "prod", "tier": "gold"}}


def receipts() -> list[dict[str, Any]]:
    out = []
    for i in range(60):
        out.append(make_receipt(f"0.{i + 1:06d}", run_id=f"run-{i % 5}", provider=f"p{i % 3}", model=f"m{i % 2}",
                                timestamp=iso(DAY + (i % 4) * HOUR + i * 7 * US_PER_S), latency_ms=3.0 + i * i,
                                team=["ml", "web", None][i % 3] or None, key_id=["kA", "kB", None][i % 3],
                                status="error" if i % 7 == 0 else "success"))
    for r in out:
        if r["team"] is None:
            del r["team"]
        if r["key_id"] is None:
            del r["key_id"]
    return out


async def _book(database_url: str, tmp_path: Path) -> Any:
    store = make_store(Settings(artifacts_dir=tmp_path, database_url=database_url))
    await store.open()
    for key_id, metadata in KEYS.items():
        await store.create_key(VirtualKey(key_id=key_id, secret_hash=hashlib.sha256(key_id.encode()).hexdigest(),
                                          prefix="tw-x", created_us=DAY, metadata=metadata))
    parsed = [parse_receipt(r, now_us=DAY + 86_400 * US_PER_S) for r in receipts()]
    for i in range(0, len(parsed), 17):  # several batches: stored rows merged with new ones
        await store.ingest(parsed[i:i + 17], DAY + 86_400 * US_PER_S)
    return store


SELECT = "SELECT grain, dimension, bucket_us, value, cost_micros, requests, errors, latency FROM series_by_dimension"


async def _merged_rows(backend: str, database_url: str, tmp_path: Path) -> dict[tuple, tuple]:
    rows = await book_rows(backend, database_url, tmp_path, SELECT)
    return {tuple(r[:4]): (*r[4:7], decode(bytes(r[7]))) for r in rows}


async def _undo_migration(backend: str, database_url: str, tmp_path: Path) -> None:
    """The book as the release before 0009 left it: tuple rows only, their sketches in the first form
    (0013 converts them again)."""
    undo = ["DROP TABLE series_by_dimension",
            f"DELETE FROM schema_version WHERE version IN ({VERSION}, {SKETCH_VERSION})"]
    if backend == "sqlite":
        with sqlite3.connect(tmp_path / "ledger" / "ledger.db") as conn:
            sqlite_sketches_back(conn, ("series_latency",))
            for statement in undo:
                conn.execute(statement)
        return
    conn = await asyncpg.connect(database_url)
    try:
        await postgres_sketches_back(conn, ("series_latency",))
        for statement in undo:
            await conn.execute(statement)
    finally:
        await conn.close()


async def test_the_migration_fills_the_merged_rows_as_ingest_does(backend: str, database_url: str,
                                                                   tmp_path: Path) -> None:
    store = await _book(database_url, tmp_path)
    await store.close()
    ingested = await _merged_rows(backend, database_url, tmp_path)
    dimensions = {key[1] for key in ingested}
    assert dimensions == {"", "provider", "model", "key_id", "user_id", "team", "org", "agent", "tag"}
    assert ingested[("day", "", DAY, "")][:2] == (sum(range(1, 61)), 60)  # $0.000001 x (i + 1)
    await _undo_migration(backend, database_url, tmp_path)
    store = make_store(Settings(artifacts_dir=tmp_path, database_url=database_url))
    await store.open()  # applies 0009 to the stored tuple rows
    await store.close()
    assert await _merged_rows(backend, database_url, tmp_path) == ingested


def _want(pick: Any) -> tuple[int, int, list[float | None]]:
    chosen = [r for r in receipts() if pick(r)]
    sketch = Counter(index_of(r["latency_ms"]) for r in chosen)
    return sum(round(r["cost_usd"] * 1_000_000) for r in chosen), len(chosen), quantiles(sketch)


async def test_single_dimension_queries_answer_the_receipts(database_url: str, tmp_path: Path) -> None:
    store = await _book(database_url, tmp_path)
    try:
        def spec(**kw: Any) -> SeriesSpec:
            return SeriesSpec(grain="minute", since_us=DAY, until_us=DAY + 86_400 * US_PER_S, **kw)

        cases = [({}, lambda r: True),
                 ({"filters": {"team": ("ml",)}}, lambda r: r.get("team") == "ml"),
                 ({"filters": {"provider": ("p0", "p2")}}, lambda r: r["provider"] in ("p0", "p2")),
                 ({"filters": {"tag": ("tier:gold",)}}, lambda r: r.get("key_id") == "kB"),
                 ({"filters": {"key": ("kA",)}}, lambda r: r.get("key_id") == "kA")]
        for kw, pick in cases:
            (point,) = await query_breakdown(store, spec(**kw))
            got = (point.counters.cost_micros, point.counters.requests, list(point.latency))
            assert got == _want(pick), kw
        by_tag = {p.group["tag"]: p.counters.requests for p in await query_breakdown(store, spec(group_by=("tag",)))}
        assert by_tag == {"env:ci": 20, "env:prod": 20, "tier:gold": 20}
        per_hour = await query_series(store, SeriesSpec(grain="hour", since_us=DAY, until_us=DAY + 86_400 * US_PER_S,
                                                        group_by=("model",)))
        # receipt i is in hour i % 4 with model i % 2: 15 a point
        assert [((p.start_us - DAY) // HOUR, p.group["model"], p.counters.requests) for p in per_hour] == [
            (0, "m0", 15), (1, "m1", 15), (2, "m0", 15), (3, "m1", 15)]
    finally:
        await store.close()


async def test_retention_prunes_the_merged_rows_with_the_tuple_rows(backend: str, database_url: str,
                                                                    tmp_path: Path) -> None:
    store = await _book(database_url, tmp_path)
    try:  # minute and hour rows before the day's third hour go; day rows stay
        third_hour = DAY + 2 * HOUR
        await store.prune(Cutoffs(receipts_us=0, grains={"minute": third_hour, "hour": third_hour, "day": 0},
                                  spend_buckets_us=0))
    finally:
        await store.close()
    kept = await _merged_rows(backend, database_url, tmp_path)
    assert {(grain, bucket >= third_hour) for grain, _, bucket, _ in kept} == {
        ("minute", True), ("hour", True), ("day", False)}
    assert kept[("hour", "", third_hour, "")][1] == 15  # receipts i % 4 == 2
