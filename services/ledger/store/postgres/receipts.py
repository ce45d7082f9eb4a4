"""Receipts on PostgreSQL: the ingest transaction (idempotent on request_id, whichever ledger a
receipt reaches and however often), a run's receipts, a tenant's window, and the rollups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.ledger.budgets.model import BudgetKey, ThresholdEvent
from services.ledger.receipts.parse import Receipt
from services.ledger.store.base import ArmSample, IngestResult, RunReceipts, SettleResult
from services.ledger.store.postgres import budgets, series
from services.ledger.store.sqlite.spend import by_scope
from services.ledger.windows.buckets import GRAINS
from services.ledger.windows.rollup import Row, Tally, rollup_deltas

Conn = Any

COLUMNS = ("request_id", "run_id", "ts_us", "provider", "input_tokens", "output_tokens", "cost_micros", "body",
           "ingested_us", "tenant", "saved_micros", "cache_hit", "experiment", "arm")
_TYPES = ("text", "text", "bigint", "text", "bigint", "bigint", "bigint", "text", "bigint", "text", "bigint", "integer",
          "text", "text")
# one statement, the batch's columns as arrays: a staging temporary table (COPY into it, then
# INSERT ... SELECT) cost more than it saved, its ON COMMIT truncation being paid on every batch
INSERT = f"""
INSERT INTO receipts ({", ".join(COLUMNS)})
SELECT * FROM unnest({", ".join(f"${i}::{t}[]" for i, t in enumerate(_TYPES, 1))})
ON CONFLICT (request_id) DO NOTHING
RETURNING request_id
"""

ROLLUP = """
INSERT INTO rollups (grain, bucket_us, provider, cost_micros, requests, input_tokens, output_tokens,
                     saved_micros, cache_hits)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[],
                     $7::bigint[], $8::bigint[], $9::bigint[])
ON CONFLICT (grain, bucket_us, provider) DO UPDATE SET
    cost_micros = rollups.cost_micros + excluded.cost_micros,
    requests = rollups.requests + excluded.requests,
    input_tokens = rollups.input_tokens + excluded.input_tokens,
    output_tokens = rollups.output_tokens + excluded.output_tokens,
    saved_micros = rollups.saved_micros + excluded.saved_micros,
    cache_hits = rollups.cache_hits + excluded.cache_hits
"""


async def insert_new(conn: Conn, batch: Sequence[Receipt], now_us: int) -> list[Receipt]:
    """Insert each receipt not already in the book (in request_id order, so that two ledgers given
    overlapping batches wait on each other in one order); the new ones, in the batch's order."""
    first = {r.request_id: r for r in reversed(batch)}  # a request_id twice in a batch: the first stands
    rows = [(r.request_id, r.run_id, r.ts_us, r.provider, r.input_tokens, r.output_tokens, r.cost_micros,
             r.body.decode(), now_us, r.tenant, r.saved_micros, int(r.cache_hit), r.experiment, r.arm)
            for _, r in sorted(first.items())]
    inserted = await conn.fetch(INSERT, *[list(column) for column in zip(*rows, strict=True)]) if rows else []
    fresh = {row[0] for row in inserted}
    return [r for r in batch if r.request_id in fresh and first[r.request_id] is r]


async def apply_rollups(conn: Conn, new: Sequence[Receipt], now_us: int) -> None:
    deltas = sorted(rollup_deltas(new, now_us).items())
    if deltas:
        await conn.execute(ROLLUP, *[list(column) for column in zip(
            *[(g, start, p, t.cost_micros, t.requests, t.input_tokens, t.output_tokens, t.saved_micros,
               t.cache_hits) for (g, start, p), t in deltas], strict=True)])
    await conn.execute("DELETE FROM rollups r USING unnest($1::text[], $2::bigint[]) AS c(grain, cutoff)"
                       " WHERE r.grain = c.grain AND r.bucket_us < c.cutoff",
                       list(GRAINS), [grain.cutoff(now_us) for grain in GRAINS.values()])


async def ingest(conn: Conn, batch: Sequence[Receipt], now_us: int) -> IngestResult:
    """Inside one transaction: new receipts, their holds dropped and leases drawn down, run owners,
    rollups, spend and the threshold events it raises; a duplicate is counted, never re-added."""
    await budgets.sweep(conn, now_us)
    new = await insert_new(conn, batch, now_us)
    await budgets.release(conn, [r.request_id for r in batch], now_us)
    await budgets.consume_leases(conn, new)
    await budgets.claim_runs(conn, new, now_us)
    await apply_rollups(conn, new, now_us)
    await series.apply(conn, new)
    grouped = by_scope(new)
    events: list[ThresholdEvent] = []
    if grouped:
        budgeted = {(scope, scope_id) for scope, scope_id in await conn.fetch(
            "SELECT scope, scope_id FROM budgets WHERE (scope, scope_id) IN"
            " (SELECT * FROM unnest($1::text[], $2::text[]))",
            [k.scope for k in grouped], [k.scope_id for k in grouped])}
        for key, (before, items) in (await budgets.add_spend(conn, grouped)).items():
            if (key.scope, key.scope_id) in budgeted:
                events += await budgets.record_crossings(conn, key, before, items, now_us)
    return IngestResult(accepted=len(new), duplicates=len(batch) - len(new), events=events, new=new)


async def settle(conn: Conn, hold_id: str, receipt: Receipt, now_us: int) -> SettleResult:
    released = await budgets.release(conn, [hold_id], now_us) > 0
    result = await ingest(conn, [receipt], now_us)
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
