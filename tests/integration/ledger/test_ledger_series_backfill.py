"""Series backfill on SQLite and PostgreSQL: a book whose receipts were written before the series
tables existed (their rows inserted as that release did, no series), upgraded, then backfilled,
holds the series a fresh book ingesting the same receipts holds — every counter to the
microdollar and every latency sketch, at each grain, per dimension tuple and per tag. A second run
changes nothing; receipts arriving during the backfill (and an old one resent) are counted once; a
book that was already ingesting into the series before the upgrade backfills only what came
before them."""

from __future__ import annotations

import asyncio
import hashlib
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg

from services.common.migrations import Migration
from services.common.settings import Settings
from services.ledger.analytics.backfill import BackfillStep, BackfillTotals, backfill_series
from services.ledger.analytics.series import query_series
from services.ledger.analytics.spec import GROUPS, SeriesSpec
from services.ledger.keys.model import VirtualKey
from services.ledger.receipts.parse import Receipt, parse_receipt
from services.ledger.store.base import LedgerStore
from services.ledger.store.factory import make_store
from services.ledger.store.migrations import migrations
from services.ledger.store.postgres import ingest as pg_ingest
from services.ledger.store.postgres import keys as pg_keys
from services.ledger.store.sqlite import ingest as sqlite_ingest
from services.ledger.store.sqlite import keys as sqlite_keys
from services.ledger.times import iso
from tests.integration.ledger.conftest import Ledger
from tests.integration.ledger.old_books import (
    SKETCH_TABLES,
    postgres_at,
    postgres_sketches_back,
    sqlite_at,
    sqlite_sketches_back,
)
from tests.integration.ledger.test_ledger_analytics_totals import DAY_US, FIRST_DAY, KEYS, receipt_body
from tests.pg import pg_schema

SERIES = next(m.version for m in migrations("sqlite") if m.name == "series")  # the migration adding them
BACKFILL = next(m.version for m in migrations("sqlite") if m.name == "series_backfill")  # the one listing
DAYS = 3
# a receipt row as the releases before the series wrote it (columns of migrations 0001-0004)
OLD_INSERT = ("INSERT INTO receipts (request_id, run_id, ts_us, provider, input_tokens, output_tokens, cost_micros,"
              " body, ingested_us, tenant, saved_micros, cache_hit, experiment, arm) VALUES ({})")


def _receipts(n: int, seed: int, prefix: str) -> list[Receipt]:
    """`n` random receipts over DAYS days, every dimension, status, cache and latency varied."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        r = {"offset_us": rng.randrange(DAY_US), "cost_micros": rng.randrange(50_000_000),
             "input_micros": rng.randrange(50_000_000), "provider": rng.choice(["p1", "p2", "p3"]),
             "model": rng.choice(["m1", "m2"]), "key_id": rng.choice([None, *KEYS]),
             "user": rng.choice([None, "ann", "bob"]), "team": rng.choice([None, "ml", "web"]),
             "org": rng.choice([None, "acme"]), "run_id": rng.choice(["r1", "r2"]), "agent": rng.choice(["a1", "a2"]),
             "status": rng.choice(["success", "success", "error", "budget_exceeded"]),
             "input_tokens": rng.randrange(10**6), "cached": rng.randrange(10**6),
             "output_tokens": rng.randrange(10**6), "latency_ms": rng.uniform(0, 60_000),
             "cache_hit": rng.random() < 0.2, "saved_micros": rng.randrange(10**6)}
        body = receipt_body(FIRST_DAY + rng.randrange(DAYS) * DAY_US, r) | {"request_id": f"{prefix}-{i:04d}"}
        out.append(parse_receipt(body, now_us=FIRST_DAY + DAYS * DAY_US))
    return out


def _row(r: Receipt, ingested_us: int) -> tuple[Any, ...]:
    return (r.request_id, r.run_id, r.ts_us, r.provider, r.input_tokens, r.output_tokens, r.cost_micros,
            r.body.decode(), ingested_us, r.tenant, r.saved_micros, int(r.cache_hit), r.experiment, r.arm)


def _keys() -> list[VirtualKey]:
    return [VirtualKey(key_id=key_id, secret_hash=hashlib.sha256(key_id.encode()).hexdigest(), prefix="tw-x",
                       created_us=FIRST_DAY, metadata=metadata) for key_id, metadata in KEYS.items()]


def _now_us() -> int:
    return time.time_ns() // 1000


async def _old_book(backend: str, url: str, tmp_path: Path, old: Sequence[Receipt], *,
                    upto: int = SERIES - 1, then: Sequence[Receipt] = ()) -> None:
    """A book at migration `upto` holding `old` as the release before the series wrote them (receipt
    rows only); with `then`, migrations up to `upto` > SERIES applied after them, and `then`
    ingested by that release's ingest (which adds to the series; its sketches in their first form,
    which migration 0013 converts)."""
    before = _now_us() - 60_000_000

    def applied(m: Migration) -> int:  # the series' migrations after the old receipts
        return before - 1 if m.version < SERIES else before + 1

    if backend == "sqlite":
        path = tmp_path / "ledger" / "ledger.db"
        path.parent.mkdir(parents=True)
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            sqlite_at(conn, upto, applied)
            conn.executemany(OLD_INSERT.format(", ".join("?" * 14)), [_row(r, before) for r in old])
            for key in _keys():
                sqlite_keys.insert(conn, key)
            if then:
                conn.execute("BEGIN IMMEDIATE")
                sqlite_ingest.ingest(conn, then, before + 2)
                sqlite_sketches_back(conn, tuple(SKETCH_TABLES))
                conn.execute("COMMIT")
        finally:
            conn.close()
        return
    conn = await asyncpg.connect(url)
    try:
        await postgres_at(conn, upto, applied)
        await conn.executemany(OLD_INSERT.format(", ".join(f"${i}" for i in range(1, 15))),
                               [_row(r, before) for r in old])
        for key in _keys():
            await pg_keys.insert(conn, key)
        if then:
            async with conn.transaction():
                await pg_ingest.ingest(conn, then, before + 2)
                await postgres_sketches_back(conn, tuple(SKETCH_TABLES))
    finally:
        await conn.close()


@asynccontextmanager
async def _opened(tmp_path: Path, url: str) -> AsyncIterator[LedgerStore]:
    store = make_store(Settings(artifacts_dir=tmp_path, database_url=url))
    await store.open()
    try:
        for key in _keys():  # tags come from the sending key, as at ingest
            if await store.key(key.key_id) is None:
                await store.create_key(key)
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def _reference(backend: str, tmp_path: Path, receipts: Sequence[Receipt]) -> AsyncIterator[LedgerStore]:
    """A fresh book of the same backend that ingested `receipts` (the series to match)."""
    async def fill(url: str, where: Path) -> AsyncIterator[LedgerStore]:
        async with _opened(where, url) as store:
            await store.ingest(list(receipts), FIRST_DAY + DAYS * DAY_US)
            yield store

    if backend == "sqlite":
        async for store in fill("", tmp_path / "reference"):
            yield store
        return
    async with pg_schema() as url:
        async for store in fill(url, tmp_path):
            yield store


async def _series(store: LedgerStore, grains: Sequence[str] = ("minute", "hour", "day")) -> dict[str, list[Any]]:
    """Every stored point: each grain, by several groupings, counters and quantiles."""
    out = {}
    for grain in grains:
        # the whole tuple, with and without tags, and the total and single dimensions (pre-merged rows)
        for group_by in (tuple(g for g in GROUPS if g != "tag"), tuple(GROUPS), (), ("provider",), ("tag",)):
            spec = SeriesSpec(grain=grain, since_us=FIRST_DAY, until_us=FIRST_DAY + DAYS * DAY_US, group_by=group_by)
            out[f"{grain} by {','.join(group_by)}"] = sorted(
                ((p.start_us, tuple(sorted(p.group.items())), p.counters.values(), p.latency)
                 for p in await query_series(store, spec)), key=repr)
    return out


async def _assert_same(store: LedgerStore, backend: str, tmp_path: Path, receipts: Sequence[Receipt],
                       grains: Sequence[str] = ("minute", "hour", "day")) -> None:
    got = await _series(store, grains)
    async with _reference(backend, tmp_path, receipts) as reference:
        want = await _series(reference, grains)
    assert sum(len(points) for points in want.values()) > 0
    for name, points in want.items():
        assert got[name] == points, name


async def test_backfill_gives_the_series_ingest_would_have(backend: str, database_url: str, tmp_path: Path) -> None:
    old = _receipts(60, seed=1, prefix="old")
    await _old_book(backend, database_url, tmp_path, old)
    async with _opened(tmp_path, database_url) as store:
        assert all(points == [] for points in (await _series(store)).values())  # upgraded: empty charts
        seen: list[tuple[int, int]] = []

        def progress(step: BackfillStep, totals: BackfillTotals) -> None:
            seen.append((totals.added, totals.remaining))

        totals = await backfill_series(store, 7, progress)
        assert (totals.added, totals.skipped, totals.remaining, totals.batches) == (60, 0, 0, 9)
        assert seen == [(min(7 * i, 60), 60 - min(7 * i, 60)) for i in range(1, 10)]
        await _assert_same(store, backend, tmp_path, old)
        again = await backfill_series(store, 7)
        assert (again.added, again.batches) == (0, 0)
        await _assert_same(store, backend, tmp_path, old)
    async with _opened(tmp_path, database_url) as store:  # and after a restart: nothing more
        assert (await backfill_series(store, 100)).added == 0
        await _assert_same(store, backend, tmp_path, old)


async def test_receipts_arriving_during_the_backfill_count_once(backend: str, database_url: str,
                                                                tmp_path: Path) -> None:
    old = _receipts(40, seed=2, prefix="old")
    new = _receipts(30, seed=3, prefix="new")
    await _old_book(backend, database_url, tmp_path, old)
    async with _opened(tmp_path, database_url) as store:
        now = FIRST_DAY + DAYS * DAY_US
        # one at a time, interleaved: a batch, then new receipts and an old one sent again
        for i in range(3):
            step = await store.backfill_series(5)
            assert step.added == 5
            result = await store.ingest([*new[i * 5:(i + 1) * 5], old[i * 10]], now)
            assert (result.accepted, result.duplicates) == (5, 1)
        # and at once: the rest of the backfill beside the rest of the arrivals
        async def arrivals() -> None:
            for i in range(15, 30, 3):
                await store.ingest([*new[i:i + 3], old[i]], now)

        totals, _ = await asyncio.gather(backfill_series(store, 4), arrivals())
        assert totals.added == 25 and totals.remaining == 0
        await _assert_same(store, backend, tmp_path, [*old, *new])


async def test_a_book_already_ingesting_into_the_series_backfills_only_what_came_before(
        backend: str, database_url: str, tmp_path: Path) -> None:
    old = _receipts(20, seed=4, prefix="old")
    since = _receipts(20, seed=5, prefix="since")  # booked by the release that added the series
    await _old_book(backend, database_url, tmp_path, old, upto=BACKFILL - 1, then=since)
    async with _opened(tmp_path, database_url) as store:
        totals = await backfill_series(store, 50)
        assert (totals.added, totals.batches) == (20, 1)
        await _assert_same(store, backend, tmp_path, [*old, *since])


async def test_an_unreadable_receipt_is_skipped_and_said(backend: str, database_url: str, tmp_path: Path) -> None:
    old = _receipts(5, seed=6, prefix="old")
    await _old_book(backend, database_url, tmp_path, old)
    bad = '{"request_id": "old-0002", "written": "by hand"}'
    if backend == "sqlite":
        with sqlite3.connect(tmp_path / "ledger" / "ledger.db") as conn:
            conn.execute("UPDATE receipts SET body = ? WHERE request_id = 'old-0002'", (bad,))
    else:
        conn = await asyncpg.connect(database_url)
        await conn.execute("UPDATE receipts SET body = $1 WHERE request_id = 'old-0002'", bad)
        await conn.close()
    async with _opened(tmp_path, database_url) as store:
        totals = await backfill_series(store, 10)
        assert (totals.added, totals.skipped, totals.remaining) == (4, 1, 0)
        await _assert_same(store, backend, tmp_path, [r for r in old if r.request_id != "old-0002"])


async def test_tollway_db_backfill_series(backend: str, database_url: str, tmp_path: Path) -> None:
    old = _receipts(25, seed=7, prefix="old")
    await _old_book(backend, database_url, tmp_path, old)
    env = {"PATH": "/usr/bin:/bin", "TOLLWAY_ARTIFACTS_DIR": str(tmp_path), "TOLLWAY_DATABASE_URL": database_url}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "services.cli.main", "db", "backfill-series", *args],
                              capture_output=True, text=True, env=env, timeout=120)

    proc = await asyncio.to_thread(cli, "--batch", "10")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "series backfill: 10 added, 0 skipped, 15 to do", "series backfill: 20 added, 0 skipped, 5 to do",
        "series backfill: 25 added, 0 skipped, 0 to do", "series backfill: done, 25 receipts added in 3 batches"]
    proc = await asyncio.to_thread(cli)
    assert (proc.returncode, proc.stdout) == (0, "series backfill: done, 0 receipts added in 0 batches\n")
    proc = await asyncio.to_thread(cli, "--batch", "0")
    assert proc.returncode == 1 and "batch must be 1 ... 5000, not 0" in proc.stderr
    async with _opened(tmp_path, database_url) as store:
        await _assert_same(store, backend, tmp_path, old)


async def test_the_ledger_backfills_at_start_before_retention_prunes(backend: str, database_url: str, tmp_path: Path,
                                                                     ledger_at: Ledger) -> None:
    """The ledger's clock is months past these receipts: retention prunes them (and their minute and
    hour rows), but only once the backfill has put them in the day rows, which are kept 2 years."""
    old = _receipts(30, seed=8, prefix="old")
    await _old_book(backend, database_url, tmp_path, old)
    params = {"grain": "day", "since": iso(FIRST_DAY), "until": iso(FIRST_DAY + DAYS * DAY_US), "latency": "false"}
    async with ledger_at(series_backfill_batch=4) as client:
        deadline = time.monotonic() + 30
        while True:  # the backfill, then the pruning, run in the background: wait for both
            groups = (await client.get("/analytics/breakdown", params=params)).json()["groups"]
            booked = [(await client.get(f"/receipts/{run}")).json()["count"] for run in ("r1", "r2")]
            if groups and booked == [0, 0] or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert booked == [0, 0]
        assert (groups[0]["requests"], groups[0]["cost_micros"]) == (len(old), sum(r.cost_micros for r in old))
    async with _opened(tmp_path, database_url) as store:
        assert (await backfill_series(store, 10)).added == 0
        await _assert_same(store, backend, tmp_path, old, grains=("day",))
