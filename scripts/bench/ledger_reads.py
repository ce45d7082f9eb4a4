"""The ledger's reads with 1 M receipts in the table, SQLite beside PostgreSQL, in one run: a real
ledger process answering `GET /receipts/{run}` (one run's 1,000 receipts among 1,000 runs) and
`GET /metrics?window=hour`, p50/p99 over sequential requests on 127.0.0.1.

    python scripts/bench/ledger_reads.py [--receipts 1000000] [--runs 1000] [--requests 200]
        [--url postgresql://postgres@127.0.0.1:5432/test]

The 1 M rows are written straight into the receipts table by one SQL statement (ingesting them
through the API would take minutes and measures something else: scripts/bench/ledger_store.py);
then 5,000 receipts go through `POST /receipts`, so the windows' rollups have this hour's rows.
SQLite on a temporary directory; PostgreSQL in a schema of its own, dropped afterwards."""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from services.common import jsonio  # noqa: E402
from tests.e2e.swarm import free_port  # noqa: E402
from tests.integration.ledger.ledger_factory import make_receipt  # noqa: E402

BODY = ('{"request_id":"%s","run_id":"%s","provider":"sim-openai","model":"sim-small","cost_usd":"0.001",'
        '"cost_micros":1000,"status":"success","input_tokens":100,"output_tokens":50,"latency_ms":12.5}')
PG_LOAD = f"""
INSERT INTO receipts (request_id, run_id, ts_us, provider, input_tokens, output_tokens, cost_micros, body,
                      ingested_us, tenant, saved_micros, cache_hit)
SELECT 'bulk-' || g, 'run-' || (g % $2::int), $3::bigint - g * 3, 'sim-openai', 100, 50, 1000,
       format('{BODY.replace("%s", "%s")}', 'bulk-' || g, 'run-' || (g % $2::int)), $3::bigint, NULL, 0, 0
FROM generate_series(1, $1) AS g
"""
SQLITE_LOAD = f"""
WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < ?)
INSERT INTO receipts (request_id, run_id, ts_us, provider, input_tokens, output_tokens, cost_micros, body,
                      ingested_us, tenant, saved_micros, cache_hit)
SELECT 'bulk-' || x, 'run-' || (x % ?), ? - x * 3, 'sim-openai', 100, 50, 1000,
       printf('{BODY}', 'bulk-' || x, 'run-' || (x % ?)), ?, NULL, 0, 0 FROM g
"""


class Ledger:
    def __init__(self, root: Path, database_url: str) -> None:
        self.port = free_port()
        self.env = {**os.environ, "TOLLWAY_ARTIFACTS_DIR": str(root), "TOLLWAY_DATABASE_URL": database_url,
                    "TOLLWAY_ACCESS_LOG": "false", "TOLLWAY_LOG_LEVEL": "warning"}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Ledger:
        self.proc = subprocess.Popen([sys.executable, "-m", "services.cli.main", "serve", "ledger", "--port",
                                      str(self.port)], env=self.env, cwd=ROOT)
        for _ in range(600):
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the ledger did not start")

    def __exit__(self, *_: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(30)


def now_us() -> int:
    return time.time_ns() // 1000


def fresh_receipts(n: int) -> list[dict[str, object]]:
    at = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    return [make_receipt(request_id=f"fresh-{i}", run_id=f"run-{i % 50}", timestamp=at) for i in range(n)]


def timed(client: httpx.Client, path: str, n: int) -> str:
    client.get(path)  # warm
    samples = []
    size = 0
    for _ in range(n):
        t = time.perf_counter()
        resp = client.get(path)
        samples.append(time.perf_counter() - t)
        assert resp.status_code == 200, resp.text[:300]
        size = len(resp.content)
    q = statistics.quantiles(samples, n=100)
    return f"p50 {q[49] * 1e3:.1f} ms, p99 {q[98] * 1e3:.1f} ms ({size / 1024:.0f} KiB)"


def measure(ledger: Ledger, args: argparse.Namespace) -> dict[str, str]:
    with ledger, httpx.Client(base_url=ledger.url, timeout=60) as client:
        fresh = fresh_receipts(5000)
        for i in range(0, len(fresh), 500):
            resp = client.post("/receipts", content=jsonio.dumps({"receipts": fresh[i:i + 500]}),
                               headers={"content-type": "application/json"})
            assert resp.status_code == 200, resp.text[:300]
        return {"/receipts/run-7": timed(client, "/receipts/run-7", args.requests),
                "/metrics?window=hour": timed(client, "/metrics?window=hour", args.requests)}


async def load_postgres(url: str, args: argparse.Namespace) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(PG_LOAD, args.receipts, args.runs, now_us())
        await conn.execute("ANALYZE receipts")
    finally:
        await conn.close()


def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with Ledger(root, ""):
            pass  # the schema, by its migrations
        t = time.perf_counter()
        with sqlite3.connect(root / "ledger" / "ledger.db") as db:
            db.execute(SQLITE_LOAD, (args.receipts, args.runs, now_us(), args.runs, now_us()))
            db.execute("ANALYZE")
        print(f"SQLite:     {args.receipts:,} receipts loaded in {time.perf_counter() - t:.0f} s", flush=True)
        print("SQLite:    ", measure(Ledger(root, ""), args), flush=True)

    schema = f"bench_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(args.url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f"CREATE SCHEMA {schema}"))
    try:
        url = f"{args.url}{'&' if '?' in args.url else '?'}search_path={schema}"
        with tempfile.TemporaryDirectory() as tmp:
            with Ledger(Path(tmp), url):
                pass
            t = time.perf_counter()
            asyncio.run(load_postgres(url, args))
            print(f"PostgreSQL: {args.receipts:,} receipts loaded in {time.perf_counter() - t:.0f} s", flush=True)
            print("PostgreSQL:", measure(Ledger(Path(tmp), url), args), flush=True)
    finally:
        asyncio.run(admin(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    main(parser.parse_args())
