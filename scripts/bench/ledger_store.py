"""The ledger's store on SQLite against PostgreSQL, in one run: receipt ingest (receipts/s, in
batches as gateways ship them: one at a time, then from several callers at once, directly and
through the ledger's group commit) and lease grant latency (p50/p99), through the LedgerStore interface.

    python scripts/bench/ledger_store.py [--receipts 20000] [--batch 500] [--grants 2000]
        [--concurrency 8] [--callers 4] [--group 5000] [--url postgresql://postgres@127.0.0.1:5432/test]

SQLite runs on a temporary file (synchronous=NORMAL, the default); PostgreSQL in a schema of its
own, dropped afterwards, with the server's own durability settings (synchronous_commit as set)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import uvloop

from services.ledger.budgets.model import BudgetKey
from services.ledger.receipts.group_commit import GroupCommit
from services.ledger.receipts.parse import Receipt
from services.ledger.store.base import LedgerStore
from services.ledger.store.postgres.store import PostgresLedgerStore
from services.ledger.store.sqlite.store import SqliteLedgerStore

NOW_US = 1_795_000_000_000_000
BODY = (b'{"request_id":"%s","run_id":"run-%d","provider":"sim-openai","model":"sim-small","cost_usd":"0.001",'
        b'"status":"success","input_tokens":100,"output_tokens":50,"latency_ms":12.5}')


def receipts(n: int) -> list[Receipt]:
    return [Receipt(request_id=f"req-{i:09d}", run_id=f"run-{i % 50}", ts_us=NOW_US - i, provider="sim-openai",
                    input_tokens=100, output_tokens=50, cost_micros=1000,
                    body=BODY % (f"req-{i:09d}".encode(), i % 50)) for i in range(n)]


def quantiles(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100)
    return f"p50 {q[49] * 1e3:.2f} ms, p99 {q[98] * 1e3:.2f} ms"


async def measure(store: LedgerStore, args: argparse.Namespace) -> dict[str, str]:
    await store.open()
    try:
        data = receipts(args.receipts)
        batches = [data[i:i + args.batch] for i in range(0, len(data), args.batch)]
        t0 = time.perf_counter()
        for batch in batches[:len(batches) // 3]:  # one caller, one batch at a time
            await store.ingest(batch, NOW_US)
        ingest = len(data) // 3 / (time.perf_counter() - t0)
        rates = {}
        for name, write in (("direct", store.ingest),
                            ("grouped", GroupCommit(store.ingest, args.group).ingest)):
            part = batches[len(batches) // 3:2 * len(batches) // 3] if name == "direct" else \
                batches[2 * len(batches) // 3:]
            queue = list(part)

            async def caller(write: Any = write, queue: list[list[Receipt]] = queue) -> None:
                while queue:
                    await write(queue.pop(), NOW_US)

            t0 = time.perf_counter()
            await asyncio.gather(*(caller() for _ in range(args.callers)))
            rates[name] = sum(len(b) for b in part) / (time.perf_counter() - t0)
        key = BudgetKey.run("bench-run")
        await store.set_budget(key, 10**15, NOW_US)
        samples: list[float] = []

        async def grants(worker: int) -> None:
            for n in range(args.grants // args.concurrency):
                t = time.perf_counter()
                outcome = await store.grow_lease(f"lease-{worker}-{n % 20}", key, 1000, 5000, NOW_US, 30_000_000)
                samples.append(time.perf_counter() - t)
                assert outcome.kind == "granted", outcome

        await grants(0)  # one caller at a time
        one = quantiles(samples)
        samples.clear()
        await asyncio.gather(*(grants(w) for w in range(args.concurrency)))
        return {"ingest": f"{ingest:,.0f} receipts/s",
                f"ingest x{args.callers}": f"{rates['direct']:,.0f} receipts/s",
                f"ingest x{args.callers} grouped": f"{rates['grouped']:,.0f} receipts/s", "lease grant": one,
                f"lease grant x{args.concurrency}": quantiles(samples)}
    finally:
        await store.close()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'SQLite':11s}", await measure(SqliteLedgerStore(Path(tmp) / "ledger.db", synchronous="NORMAL"), args))
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(args.url)
    await admin.execute(f"CREATE SCHEMA {schema}")
    try:
        sep = "&" if "?" in args.url else "?"
        print(f"{'PostgreSQL':11s}", await measure(PostgresLedgerStore(f"{args.url}{sep}search_path={schema}"), args))
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--grants", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--callers", type=int, default=4, help="batches shipped at once (gateways)")
    parser.add_argument("--group", type=int, default=5_000, help="group commit's receipts per transaction")
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    uvloop.run(main(parser.parse_args()))
