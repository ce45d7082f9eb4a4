"""How fast the series backfill (services/ledger/analytics/backfill.py) adds a book's old receipts
to the series, against ingesting the same receipts in the same run (the baseline: the whole ingest
transaction, the series included, in batches of the same size).

A fresh ledger database (SQLite file, or a PostgreSQL schema with --database-url) is given
--receipts receipts as the release before the series wrote them: receipt rows only, each listed
for the backfill as migration 0010 lists a book's old receipts. Receipts spread over 30 days, 3
providers x 3 models x 4 teams x 3 keys, latencies log-normal around 800 ms. Prints wall and CPU
time (this process: SQLite's work included, PostgreSQL's server work not) of each, receipts a
second, and the ratio backfill / ingest.

Usage: python scripts/bench/series_backfill.py [--receipts 20000] [--batch 500] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from services.common import jsonio  # noqa: E402
from services.common.settings import Settings  # noqa: E402
from services.ledger.analytics.backfill import backfill_series  # noqa: E402
from services.ledger.receipts.parse import Receipt, parse_receipt  # noqa: E402
from services.ledger.store.factory import make_store  # noqa: E402
from services.ledger.times import US_PER_S, iso, to_us  # noqa: E402

START = to_us(datetime(2026, 10, 1, tzinfo=UTC))
SPAN = 30 * 86_400 * US_PER_S
COLUMNS = ("request_id", "run_id", "ts_us", "provider", "input_tokens", "output_tokens", "cost_micros", "body",
           "ingested_us", "tenant", "saved_micros", "cache_hit", "experiment", "arm")


def receipts(n: int, seed: int = 7) -> list[Receipt]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        inp, outp = rng.randrange(10, 4000), rng.randrange(1, 1000)
        i_cost, o_cost = Decimal(inp * 3).scaleb(-6), Decimal(outp * 15).scaleb(-6)
        body = {"request_id": f"bf-{i:08d}", "run_id": f"run-{i % 50}", "agent": "bench",
                "timestamp": iso(START + rng.randrange(SPAN)), "provider": f"provider-{i % 3}",
                "model": f"model-{(i // 3) % 3}", "team": f"team-{i % 4}", "key_id": f"key-{i % 3}", "org": "acme",
                "input_tokens": inp, "output_tokens": outp, "input_cost_usd": i_cost, "output_cost_usd": o_cost,
                "cost_usd": i_cost + o_cost, "prices": {"input_per_mtok": 3, "output_per_mtok": 15},
                "latency_ms": rng.lognormvariate(6.68, 0.6), "status": "success", "fallback": False, "attempts": [],
                "strategy": "cost", "reason": "bench", "stream": False, "usage_estimated": False}
        out.append(parse_receipt(jsonio.loads_exact(jsonio.dumps(body)), now_us=START + SPAN))
    return out


def row(r: Receipt) -> tuple[object, ...]:
    return (r.request_id, r.run_id, r.ts_us, r.provider, r.input_tokens, r.output_tokens, r.cost_micros,
            r.body.decode(), START, r.tenant, r.saved_micros, int(r.cache_hit), r.experiment, r.arm)


async def old_rows(settings: Settings, rs: list[Receipt]) -> None:
    """The receipt rows as the release before the series wrote them, listed as migration 0010 lists them."""
    insert = f"INSERT INTO receipts ({', '.join(COLUMNS)}) VALUES ({{}})"
    if not settings.database_url:
        with sqlite3.connect(settings.service_dir("ledger") / "ledger.db") as conn:
            conn.executemany(insert.format(", ".join("?" * len(COLUMNS))), [row(r) for r in rs])
            conn.executemany("INSERT INTO series_backfill_pending VALUES (?)", [(r.request_id,) for r in rs])
        return
    import asyncpg

    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.executemany(insert.format(", ".join(f"${i}" for i in range(1, len(COLUMNS) + 1))),
                               [row(r) for r in rs])
        await conn.executemany("INSERT INTO series_backfill_pending VALUES ($1)", [(r.request_id,) for r in rs])
    finally:
        await conn.close()


async def timed(settings: Settings, work) -> tuple[float, float]:  # noqa: ANN001
    store = make_store(settings)
    await store.open()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        await work(store)
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await store.close()


async def run(args: argparse.Namespace, root: Path) -> None:
    rs = receipts(args.receipts)
    schemas = []

    async def settings_for(name: str) -> Settings:
        if not args.database_url:
            return Settings(artifacts_dir=root / name, database_url="")
        import asyncpg

        schema = f"bench_backfill_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(args.database_url)
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.close()
        schemas.append(schema)
        sep = "&" if "?" in args.database_url else "?"
        return Settings(artifacts_dir=root / name, database_url=f"{args.database_url}{sep}search_path={schema}")

    try:
        ingest_settings = await settings_for("ingest")

        async def ingest(store) -> None:  # noqa: ANN001
            for i in range(0, len(rs), args.batch):
                await store.ingest(rs[i:i + args.batch], START + SPAN)

        ingest_wall, ingest_cpu = await timed(ingest_settings, ingest)
        old_settings = await settings_for("old")
        await timed(old_settings, lambda store: asyncio.sleep(0))  # the schema, migrations applied
        await old_rows(old_settings, rs)
        totals = {}

        async def backfill(store) -> None:  # noqa: ANN001
            totals["t"] = await backfill_series(store, args.batch)

        fill_wall, fill_cpu = await timed(old_settings, backfill)
        assert totals["t"].added == len(rs), totals
    finally:
        if schemas:
            import asyncpg

            conn = await asyncpg.connect(args.database_url)
            for schema in schemas:
                await conn.execute(f"DROP SCHEMA {schema} CASCADE")
            await conn.close()
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{backend}: {len(rs)} receipts, batches of {args.batch}")
    print(f"{'':10} {'wall s':>8} {'CPU s':>8} {'receipts/s (wall)':>18}")
    for name, wall, cpu in (("ingest", ingest_wall, ingest_cpu), ("backfill", fill_wall, fill_cpu)):
        print(f"{name:10} {wall:8.2f} {cpu:8.2f} {len(rs) / wall:18.0f}")
    print(f"backfill / ingest: wall {fill_wall / ingest_wall:.2f}, CPU {fill_cpu / ingest_cpu:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--receipts", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
