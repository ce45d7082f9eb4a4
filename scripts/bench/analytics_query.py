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

The pre-merged rows (series_by_dimension, services/ledger/analytics/premerge.py) are written
too, as ingest folds them from the tuple rows.

Before and after, in one run: `--baseline DIR` runs DIR's copy of this script first (an older
checkout: `git worktree add /tmp/analytics-base <commit>`) with the same arguments, then this one,
and prints both side by side. With --database-url each run gets a fresh schema, dropped after.

Usage: python scripts/bench/analytics_query.py [--runs 30] [--database-url postgresql://...]
           [--baseline /tmp/analytics-base]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
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


Result = tuple[int, int, float, float, float]  # sketches read, points, p50 ms, p99 ms, cpu p50 ms


async def measure(args: argparse.Namespace, url: str) -> dict[str, Result]:
    out: dict[str, Result] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = make_store(Settings(artifacts_dir=Path(tmp), database_url=url))
        await store.open()
        try:
            data = rows(args)
            await load(store, url, data)
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
                out[name] = (read, n, statistics.median(times), p99, statistics.median(cpu))
        finally:
            await store.close()
    return out


HEADER = f"{'query':42} {'sketches':>8} {'points':>7} {'p50 ms':>8} {'p99 ms':>8} {'cpu p50 ms':>11}"


def table(results: dict[str, Result]) -> str:
    lines = [HEADER]
    for name, (read, n, p50, p99, cpu) in results.items():
        lines.append(f"{name:42} {read:8} {n:7} {p50:8.1f} {p99:8.1f} {cpu:11.1f}")
    return "\n".join(lines)


def parse_table(text: str) -> dict[str, Result]:
    """What an older copy of this script printed (the same columns)."""
    names = [name for name, _, _ in QUERIES]
    out: dict[str, Result] = {}
    for line in text.splitlines():
        name = line[:42].rstrip()
        if name in names:
            read, n, p50, p99, cpu = line[42:].split()
            out[name] = (int(read), int(n), float(p50), float(p99), float(cpu))
    return out


def side_by_side(before: dict[str, Result], after: dict[str, Result]) -> str:
    lines = [f"{'query':42} {'sketches':>15} {'points':>6} {'p50 ms':>15} {'p99 ms':>15} {'cpu p50 ms':>15}",
             f"{'':42} {'before -> after':>15} {'':>6} {'before -> after':>15} {'before -> after':>15}"
             f" {'before -> after':>15}"]
    for name, (read, n, p50, p99, cpu) in after.items():
        b = before.get(name)
        if b is None:
            lines.append(f"{name:42} {'? -> ' + str(read):>15} {n:6} {'? -> ' + f'{p50:.1f}':>15}"
                         f" {'? -> ' + f'{p99:.1f}':>15} {'? -> ' + f'{cpu:.1f}':>15}")
            continue
        lines.append(f"{name:42} {f'{b[0]} -> {read}':>15} {n:6} {f'{b[2]:.1f} -> {p50:.1f}':>15}"
                     f" {f'{b[3]:.1f} -> {p99:.1f}':>15} {f'{b[4]:.1f} -> {cpu:.1f}':>15}")
    return "\n".join(lines)


async def _schema(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--tuples", type=int, default=36)
    parser.add_argument("--day-requests", type=int, default=1000)
    parser.add_argument("--minute-requests", type=int, default=20)
    parser.add_argument("--database-url", default="", help="PostgreSQL (a fresh schema is made in it)")
    parser.add_argument("--baseline", default="", help="a checkout whose copy of this script runs first")
    parser.add_argument("--in-schema", action="store_true", help=argparse.SUPPRESS)  # the URL names its schema
    args = parser.parse_args()
    shape = (f"{args.tuples} tuples; 365 day rows of {args.day_requests} requests,"
             f" 1440 minute rows of {args.minute_requests} each")
    print(f"{'postgres' if args.database_url else 'sqlite'}: {shape}; --runs {args.runs}; load average"
          f" {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    before: dict[str, Result] | None = None
    if args.baseline:
        before = parse_table(await _run_copy(args))
    url, schema = args.database_url, ""
    if url and not args.in_schema:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        await _schema(url, f"CREATE SCHEMA {schema}")
        url = f"{url}{'&' if '?' in url else '?'}search_path={schema}"
    try:
        after = await measure(args, url)
    finally:
        if schema:
            await _schema(args.database_url, f"DROP SCHEMA {schema} CASCADE")
    print(table(after) if before is None else side_by_side(before, after))


async def _run_copy(args: argparse.Namespace) -> str:
    """The baseline checkout's copy of this script, on a schema of its own; its printed table."""
    command = [sys.executable, str(Path(args.baseline) / "scripts" / "bench" / "analytics_query.py"),
               "--runs", str(args.runs), "--tuples", str(args.tuples), "--day-requests", str(args.day_requests),
               "--minute-requests", str(args.minute_requests)]
    schema = ""
    if args.database_url:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        await _schema(args.database_url, f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in args.database_url else "?"
        command += ["--database-url", f"{args.database_url}{sep}search_path={schema}"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONPATH": str(Path(args.baseline).resolve())})
    finally:
        if schema:
            await _schema(args.database_url, f"DROP SCHEMA {schema} CASCADE")
    return done.stdout


if __name__ == "__main__":
    asyncio.run(main())
