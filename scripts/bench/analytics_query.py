"""How fast the ledger's analytics answer: a year of day rows and a day of minute rows, queried
through the query layer (services/ledger/analytics/series.py) and rendered as the JSON body the
API sends. Prints, per query, the stored sketches (rows of series_latency) it reads, the points it
answers, p50 and p99 wall time over --runs runs, and the p50 CPU time of this process (the
query's own work, SQLite's included; on a shared, loaded machine wall time also counts the waits
for a core).

The rollup rows are written straight into a fresh ledger database (SQLite file, or a PostgreSQL
schema with --database-url), as ingest would have left them: --tuples dimension tuples (3
providers x 3 models x 4 teams by default), each day row summing --day-requests requests and each
minute row --minute-requests, with latencies drawn log-normally around 800 ms (sigma 0.6), so a
day row's sketch holds about a hundred buckets, as real traffic's would.

Usage: python scripts/bench/analytics_query.py [--runs 30] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from services.common.settings import Settings  # noqa: E402
from services.ledger.analytics.premerge import merged_deltas  # noqa: E402
from services.ledger.analytics.render import point_body  # noqa: E402
from services.ledger.analytics.rollup import COUNTER_COLUMNS, Counters, Delta, SeriesKey  # noqa: E402
from services.ledger.analytics.series import query_breakdown, query_series, store_query  # noqa: E402
from services.ledger.analytics.sketch import encode, index_of  # noqa: E402
from services.ledger.analytics.spec import SeriesSpec  # noqa: E402
from services.ledger.store.factory import make_store  # noqa: E402
from services.ledger.times import US_PER_S, to_us  # noqa: E402

DAY = 86_400 * US_PER_S
MINUTE = 60 * US_PER_S
YEAR_START = to_us(datetime(2025, 12, 1, tzinfo=UTC))
MINUTE_DAY = YEAR_START + 364 * DAY  # the year's last day also has minute rows


def tuples(n: int) -> list[tuple[str, ...]]:
    out = []
    for i in range(n):
        provider, model, team = f"provider-{i % 3}", f"model-{(i // 3) % 3}", f"team-{i % 4}"
        out.append((provider, model, "", "", team, "acme", "", "agent"))
    return out


def row(grain: str, bucket: int, dims: tuple[str, ...], requests: int,
        rng: random.Random) -> tuple[SeriesKey, Delta]:
    sketch = Counter(index_of(rng.lognormvariate(6.68, 0.6)) for _ in range(requests))
    cost = requests * rng.randint(100, 5_000)
    counters = Counters(cost, requests, requests // 50, requests * 900, requests * 300, requests * 100,
                        requests // 10, cost // 20)
    return (grain, "", bucket, dims), Delta(counters, dict(sketch))


def rows(args: argparse.Namespace) -> list[tuple[SeriesKey, Delta]]:
    """The tuple rows, as ingest's deltas (services/ledger/analytics/rollup.py)."""
    rng = random.Random(7)
    dims = tuples(args.tuples)
    out = [row("day", YEAR_START + d * DAY, t, args.day_requests, rng) for d in range(365) for t in dims]
    out += [row("minute", MINUTE_DAY + m * MINUTE, t, args.minute_requests, rng) for m in range(1440) for t in dims]
    return out


COLUMNS = ("grain, tag, bucket_us, provider, model, key_id, user_id, team, org, run_id, agent, cost_micros,"
           " requests, errors, input_tokens, output_tokens, cached_tokens, cache_hits, saved_micros, latency")


MERGED_COLUMNS = ("grain", "dimension", "bucket_us", "value", *COUNTER_COLUMNS, "latency")


async def load(store: object, url: str, data: list[tuple[SeriesKey, Delta]]) -> None:
    """The tuple rows and the pre-merged rows ingest would have written for them."""
    flat = [(grain, tag, bucket, *dims, *d.counters.values(), encode(d.latency))
            for (grain, tag, bucket, dims), d in data]
    counters = [row[:-1] for row in flat]
    sketches = [row[:11] + row[-1:] for row in flat]
    merged = [(*key, *d.counters.values(), encode(d.latency)) for key, d in merged_deltas(data)]
    columns = [c.strip() for c in COLUMNS.split(",")]
    tables = [("series", counters, columns[:-1]), ("series_latency", sketches, columns[:11] + columns[-1:]),
              ("series_by_dimension", merged, list(MERGED_COLUMNS))]
    if url:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            for table, records, names in tables:
                await conn.copy_records_to_table(table, records=records, columns=names)
                await conn.execute(f"ANALYZE {table}")
        finally:
            await conn.close()
        return
    import sqlite3

    conn = sqlite3.connect(store.path)  # type: ignore[attr-defined]
    with conn:
        for table, records, names in tables:
            conn.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                             records)
    conn.execute("ANALYZE")
    conn.close()


QUERIES = [
    ("year of days, total per day", "series", SeriesSpec("day", YEAR_START, YEAR_START + 365 * DAY)),
    ("year of days, per provider", "series",
     SeriesSpec("day", YEAR_START, YEAR_START + 365 * DAY, group_by=("provider",))),
    ("year by month, per model", "series",
     SeriesSpec("month", YEAR_START, YEAR_START + 365 * DAY, group_by=("model",))),
    ("year, breakdown per team x model", "breakdown",
     SeriesSpec("day", YEAR_START, YEAR_START + 365 * DAY, group_by=("team", "model"))),
    ("year of days, per provider, no latency", "series",
     SeriesSpec("day", YEAR_START, YEAR_START + 365 * DAY, group_by=("provider",), latency=False)),
    ("day of minutes, total per minute", "series", SeriesSpec("minute", MINUTE_DAY, MINUTE_DAY + DAY)),
    ("day of minutes, per provider", "series",
     SeriesSpec("minute", MINUTE_DAY, MINUTE_DAY + DAY, group_by=("provider",))),
    ("day of minutes, team=team-1", "series",
     SeriesSpec("minute", MINUTE_DAY, MINUTE_DAY + DAY, filters={"team": ("team-1",)})),
    ("day of minutes, per provider, no latency", "series",
     SeriesSpec("minute", MINUTE_DAY, MINUTE_DAY + DAY, group_by=("provider",), latency=False)),
]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--tuples", type=int, default=36)
    parser.add_argument("--day-requests", type=int, default=1000)
    parser.add_argument("--minute-requests", type=int, default=20)
    parser.add_argument("--database-url", default="", help="PostgreSQL (use a schema of its own: ?search_path=)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = make_store(Settings(artifacts_dir=Path(tmp), database_url=args.database_url))
        await store.open()
        try:
            data = rows(args)
            await load(store, args.database_url, data)
            print(f"{'sqlite' if not args.database_url else 'postgres'}: {len(data)} rows"
                  f" ({args.tuples} tuples; 365 day rows of {args.day_requests} requests,"
                  f" 1440 minute rows of {args.minute_requests} each)")
            print(f"{'query':42} {'sketches':>8} {'points':>7} {'p50 ms':>8} {'p99 ms':>8} {'cpu p50 ms':>11}")
            for name, kind, spec in QUERIES:
                run = query_series if kind == "series" else query_breakdown
                times, cpu, n = [], [], 0
                for _ in range(args.runs):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    points = await run(store, spec)
                    orjson.dumps([point_body(p) for p in points])
                    times.append((time.perf_counter() - start) * 1000)
                    cpu.append((time.process_time() - start_cpu) * 1000)
                    n = len(points)
                times.sort()
                p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
                read = len((await store.series_rows(store_query(spec, by_bucket=kind == "series"))).latency)
                print(f"{name:42} {read:8} {n:7} {statistics.median(times):8.1f} {p99:8.1f}"
                      f" {statistics.median(cpu):11.1f}")
        finally:
            await store.close()


if __name__ == "__main__":
    asyncio.run(main())
