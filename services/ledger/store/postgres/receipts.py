"""Receipts on PostgreSQL: a settlement (a hold released and its receipt ingested, ingest.py), a
run's receipts, a tenant's window, and the rollups."""

from __future__ import annotations

from typing import Any

from services.ledger.budgets.model import BudgetKey
from services.ledger.receipts.parse import Receipt
from services.ledger.store.base import ArmSample, RunReceipts, SettleResult
from services.ledger.store.postgres import budgets, ingest
from services.ledger.windows.rollup import Row, Tally

Conn = Any

async def settle(conn: Conn, hold_id: str, receipt: Receipt, now_us: int) -> SettleResult:
    released = await budgets.release(conn, [hold_id], now_us) > 0
    result = await ingest.ingest(conn, [receipt], now_us)
    state = await budgets.state(conn, BudgetKey.run(receipt.run_id), now_us)
    return SettleResult(ingest=result, released=released, state=state)


async def count_all(conn: Conn) -> int:
    return int(await conn.fetchval("SELECT COUNT(*) FROM receipts"))


async def run_page(conn: Conn, run_id: str, limit: int, offset: int, tenant: str | None = None) -> RunReceipts:
    where, args = ("run_id = $1", (run_id,)) if tenant is None else ("run_id = $1 AND tenant = $2", (run_id, tenant))
    count, spent = await conn.fetchrow(
        f"SELECT COUNT(*), COALESCE(SUM(cost_micros), 0)::bigint FROM receipts WHERE {where}", *args)
    n = len(args)
    rows = await conn.fetch(f"SELECT body FROM receipts WHERE {where} ORDER BY ts_us, seq"
                            f" LIMIT ${n + 1} OFFSET ${n + 2}", *args, limit, offset)
    return RunReceipts(count=int(count), spent_micros=int(spent), bodies=[row[0] for row in rows])


async def experiment_samples(conn: Conn, experiment: str, tenant: str | None = None) -> list[ArmSample]:
    where, args = ("experiment = $1", (experiment,)) if tenant is None else (
        "experiment = $1 AND tenant = $2", (experiment, tenant))
    rows = await conn.fetch(
        "SELECT arm, body::jsonb ->> 'status', (body::jsonb ->> 'latency_ms')::float8, cost_micros, input_tokens,"
        f" output_tokens, body::jsonb -> 'attempts' -> 0 ->> 'status' FROM receipts WHERE {where}", *args)
    return [ArmSample(arm, status, float(latency), int(cost), int(i), int(o), first)
            for arm, status, latency, cost, i, o, first in rows]


async def one(conn: Conn, request_id: str, tenant: str | None = None) -> str | None:
    where, args = ("request_id = $1", (request_id,)) if tenant is None else (
        "request_id = $1 AND tenant = $2", (request_id, tenant))
    body = await conn.fetchval(f"SELECT body FROM receipts WHERE {where}", *args)
    return None if body is None else str(body)


async def between(conn: Conn, first_us: int, until_us: int, limit: int, tenant: str | None = None) -> list[str]:
    where, args = ("ts_us >= $1 AND ts_us < $2", (first_us, until_us)) if tenant is None else (
        "tenant = $3 AND ts_us >= $1 AND ts_us < $2", (first_us, until_us, tenant))
    rows = await conn.fetch(f"SELECT body FROM receipts WHERE {where} ORDER BY ts_us DESC LIMIT {int(limit)}", *args)
    return [str(r[0]) for r in rows]


async def tenant_window(conn: Conn, tenant: str, size_us: int, first_us: int, last_us: int) -> list[Row]:
    rows = await conn.fetch(
        "SELECT ts_us - ts_us % $1, provider, SUM(cost_micros), COUNT(*), SUM(input_tokens), SUM(output_tokens),"
        " SUM(saved_micros), SUM(cache_hit) FROM receipts WHERE tenant = $2 AND ts_us >= $3 AND ts_us < $4"
        " GROUP BY 1, 2", size_us, tenant, first_us, last_us + size_us)
    return [(int(start), provider, Tally(int(cost), int(n), int(i), int(o), int(saved), int(hits)))
            for start, provider, cost, n, i, o, saved, hits in rows]


async def rollups(conn: Conn, grain: str, first_us: int, last_us: int) -> list[Row]:
    rows = await conn.fetch(
        "SELECT bucket_us, provider, cost_micros, requests, input_tokens, output_tokens, saved_micros, cache_hits"
        " FROM rollups WHERE grain = $1 AND bucket_us BETWEEN $2 AND $3 ORDER BY bucket_us, provider",
        grain, first_us, last_us)
    return [(start, provider, Tally(cost, requests, inp, out, saved, hits))
            for start, provider, cost, requests, inp, out, saved, hits in rows]
