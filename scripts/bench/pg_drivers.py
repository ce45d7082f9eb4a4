"""Which async PostgreSQL driver the ledger uses: psycopg 3 (with psycopg_pool) against asyncpg on
this machine's PostgreSQL, same workload for both (docs/storage.md has the figures).

    python scripts/bench/pg_drivers.py [postgresql://postgres@127.0.0.1:5432/test]

Per driver, in a schema of its own (dropped afterwards): 10,000 single-row inserts in batches of
500 (one transaction per batch), 2,000 point reads by primary key, 1,000 short transactions shaped
like a lease grant (lock a row, update another, commit)."""

from __future__ import annotations

import statistics
import sys
import time
import uuid

import asyncpg
import psycopg
import uvloop
from psycopg_pool import AsyncConnectionPool

ROWS, BATCH, READS, TXS = 10_000, 500, 2_000, 1_000
TABLES = ("CREATE TABLE r (request_id text PRIMARY KEY, run_id text NOT NULL, ts_us bigint NOT NULL,"
          " cost_micros bigint NOT NULL, body text NOT NULL)",
          "CREATE TABLE b (id text PRIMARY KEY, amount bigint NOT NULL)",
          "INSERT INTO b VALUES ('run-1', 0)")
BODY = '{"request_id": "x", "provider": "sim", "cost_usd": "0.001"}' * 8


def rows() -> list[tuple[str, str, int, int, str]]:
    return [(f"req-{i:08d}", "run-1", 1_700_000_000_000_000 + i, 1000, BODY) for i in range(ROWS)]


def ms(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100)
    return f"p50 {q[49] * 1e3:.3f} ms, p99 {q[98] * 1e3:.3f} ms"


async def bench_asyncpg(url: str, schema: str) -> dict[str, str]:
    pool = await asyncpg.create_pool(url, min_size=4, max_size=4, server_settings={"search_path": schema})
    async with pool.acquire() as conn:
        for ddl in TABLES:
            await conn.execute(ddl)
    data = rows()
    t0 = time.perf_counter()
    for i in range(0, ROWS, BATCH):
        async with pool.acquire() as conn, conn.transaction():
            await conn.executemany("INSERT INTO r VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                                   data[i:i + BATCH])
    ingest = ROWS / (time.perf_counter() - t0)
    reads = []
    for i in range(READS):
        t = time.perf_counter()
        async with pool.acquire() as conn:
            await conn.fetchrow("SELECT body FROM r WHERE request_id = $1", f"req-{i * 5:08d}")
        reads.append(time.perf_counter() - t)
    txs = []
    for _ in range(TXS):
        t = time.perf_counter()
        async with pool.acquire() as conn, conn.transaction():
            await conn.fetchrow("SELECT amount FROM b WHERE id = $1 FOR UPDATE", "run-1")
            await conn.execute("UPDATE b SET amount = amount + 1 WHERE id = $1", "run-1")
        txs.append(time.perf_counter() - t)
    await pool.close()
    return {"ingest": f"{ingest:,.0f} rows/s", "point read": ms(reads), "lock+update tx": ms(txs)}


async def bench_psycopg(url: str, schema: str) -> dict[str, str]:
    pool = AsyncConnectionPool(url, min_size=4, max_size=4, open=False,
                               kwargs={"options": f"-c search_path={schema}", "autocommit": True})
    await pool.open(wait=True)
    async with pool.connection() as conn:
        for ddl in TABLES:
            await conn.execute(ddl)
    data = rows()
    t0 = time.perf_counter()
    for i in range(0, ROWS, BATCH):
        async with pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            await cur.executemany("INSERT INTO r VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                                  data[i:i + BATCH])
    ingest = ROWS / (time.perf_counter() - t0)
    reads = []
    for i in range(READS):
        t = time.perf_counter()
        async with pool.connection() as conn:
            await (await conn.execute("SELECT body FROM r WHERE request_id = %s", (f"req-{i * 5:08d}",))).fetchone()
        reads.append(time.perf_counter() - t)
    txs = []
    for _ in range(TXS):
        t = time.perf_counter()
        async with pool.connection() as conn, conn.transaction():
            await (await conn.execute("SELECT amount FROM b WHERE id = %s FOR UPDATE", ("run-1",))).fetchone()
            await conn.execute("UPDATE b SET amount = amount + 1 WHERE id = %s", ("run-1",))
        txs.append(time.perf_counter() - t)
    await pool.close()
    return {"ingest": f"{ingest:,.0f} rows/s", "point read": ms(reads), "lock+update tx": ms(txs)}


async def main(url: str) -> None:
    for name, bench in (("asyncpg", bench_asyncpg), ("psycopg 3 + psycopg_pool", bench_psycopg)):
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(url)
        await admin.execute(f"CREATE SCHEMA {schema}")
        try:
            figures = await bench(url, schema)
        finally:
            await admin.execute(f"DROP SCHEMA {schema} CASCADE")
            await admin.close()
        print(f"{name:26s} " + "; ".join(f"{k}: {v}" for k, v in figures.items()))
    print(f"(asyncpg {asyncpg.__version__}, psycopg {psycopg.__version__})")


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/test"))
