"""The ingest transaction on PostgreSQL, in few round trips: idempotent on request_id, whichever
ledger a receipt reaches and however often.

1. One statement: expired holds swept, the batch's holds released, and which of its request_ids
   the book already has.
2. The new ones (request_id order) by binary COPY straight into `receipts`: PostgreSQL writes
   them several to a WAL record, where `INSERT ... ON CONFLICT` checks and logs each row on its
   own. Another ledger committing one of them meanwhile makes the COPY fail on the primary key:
   the transaction is run again from the start (`ReceiptRace`, retried by the store), and then
   sees it.
3. The series rollups (series.py).
4. One statement for the rest: leases drawn down, run owners claimed, the windows' rollups added
   and pruned, spend and its 15-minute buckets added; it answers each scope's new spend total
   and whether that scope has a budget.
5. The threshold events of the budgeted scopes (budgets.py's `crossings`: up to three statements,
   however many budgets the batch reaches).

Rows of every table are written in key order, so two ledgers' batches lock them in one order.
Within statement 1 and 4 each table is written by one sub-statement, except `holds` in 1 (a
hold both swept and released is deleted once) and `rollups` in 4 (the rows added are within
retention, those pruned past it: never the same row).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.ledger.budgets.model import BudgetKey
from services.ledger.receipts.parse import Receipt
from services.ledger.store.base import IngestResult
from services.ledger.store.postgres import budgets, series
from services.ledger.store.sqlite import buckets
from services.ledger.store.sqlite.spend import by_scope
from services.ledger.windows.buckets import GRAINS
from services.ledger.windows.rollup import rollup_deltas

Conn = Any  # an asyncpg connection inside a transaction

COLUMNS = ("request_id", "run_id", "ts_us", "provider", "input_tokens", "output_tokens", "cost_micros", "body",
           "ingested_us", "tenant", "saved_micros", "cache_hit", "experiment", "arm")

OPEN = """
WITH swept AS (
    DELETE FROM holds WHERE hold_id IN (SELECT hold_id FROM holds WHERE expires_us <= $1 LIMIT 1000
                                        FOR UPDATE SKIP LOCKED)),
released AS (DELETE FROM holds WHERE hold_id = ANY($2::text[]))
SELECT request_id FROM receipts WHERE request_id = ANY($2::text[])
"""

BOOK = """
WITH drawn AS (
    UPDATE holds h SET amount_micros = GREATEST(h.amount_micros - d.cost, 0)
    FROM unnest($1::text[], $2::bigint[]) AS d(id, cost) WHERE h.hold_id = d.id),
claimed AS (
    INSERT INTO run_owners (run_id, tenant, claimed_us)
    SELECT r, t, $5 FROM unnest($3::text[], $4::text[]) AS x(r, t)
    ON CONFLICT (run_id) DO NOTHING),
rolled AS (
    INSERT INTO rollups (grain, bucket_us, provider, cost_micros, requests, input_tokens, output_tokens,
                         saved_micros, cache_hits)
    SELECT * FROM unnest($6::text[], $7::bigint[], $8::text[], $9::bigint[], $10::bigint[], $11::bigint[],
                         $12::bigint[], $13::bigint[], $14::bigint[])
    ON CONFLICT (grain, bucket_us, provider) DO UPDATE SET
        cost_micros = rollups.cost_micros + excluded.cost_micros,
        requests = rollups.requests + excluded.requests,
        input_tokens = rollups.input_tokens + excluded.input_tokens,
        output_tokens = rollups.output_tokens + excluded.output_tokens,
        saved_micros = rollups.saved_micros + excluded.saved_micros,
        cache_hits = rollups.cache_hits + excluded.cache_hits),
pruned AS (
    DELETE FROM rollups r USING unnest($15::text[], $16::bigint[]) AS c(grain, cutoff)
    WHERE r.grain = c.grain AND r.bucket_us < c.cutoff),
cells AS (
    INSERT INTO spend_buckets (scope, scope_id, bucket_us, spent_micros, receipts)
    SELECT * FROM unnest($17::text[], $18::text[], $19::bigint[], $20::bigint[], $21::bigint[])
    ON CONFLICT (scope, scope_id, bucket_us) DO UPDATE SET
        spent_micros = spend_buckets.spent_micros + excluded.spent_micros,
        receipts = spend_buckets.receipts + excluded.receipts),
spent AS (
    INSERT INTO spend (scope, scope_id, spent_micros, receipts)
    SELECT * FROM unnest($22::text[], $23::text[], $24::bigint[], $25::bigint[])
    ON CONFLICT (scope, scope_id) DO UPDATE SET
        spent_micros = spend.spent_micros + excluded.spent_micros,
        receipts = spend.receipts + excluded.receipts
    RETURNING scope, scope_id, spent_micros)
SELECT s.scope, s.scope_id, s.spent_micros, b.budget_micros, b.period, b.tz, b.thresholds
FROM spent s LEFT JOIN budgets b ON b.scope = s.scope AND b.scope_id = s.scope_id
"""


class ReceiptRace(Exception):
    """Another ledger committed one of this batch's receipts after this one looked: run again."""


def columns(rows: Sequence[Sequence[object]], width: int) -> list[list[Any]]:
    """Rows as one list per column (`width` empty lists when there are none)."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


async def insert_new(conn: Conn, batch: Sequence[Receipt], now_us: int) -> list[Receipt]:
    """Release the batch's holds (and sweep expired ones), insert each receipt not already in the
    book; the new ones, in the batch's order."""
    first = {r.request_id: r for r in reversed(batch)}  # a request_id twice in a batch: the first stands
    ids = sorted(first)
    known = {row[0] for row in await conn.fetch(OPEN, now_us, ids)}
    fresh = [first[i] for i in ids if i not in known]
    if fresh:
        try:
            await conn.copy_records_to_table("receipts", columns=COLUMNS, records=[
                (r.request_id, r.run_id, r.ts_us, r.provider, r.input_tokens, r.output_tokens, r.cost_micros,
                 r.body.decode(), now_us, r.tenant, r.saved_micros, int(r.cache_hit), r.experiment, r.arm)
                for r in fresh])
        except asyncpg.exceptions.UniqueViolationError as exc:
            raise ReceiptRace(str(exc)) from None
    new = {id(r) for r in fresh}
    return [r for r in batch if id(r) in new]


def lease_draws(new: Sequence[Receipt]) -> list[tuple[str, int]]:
    """Each lease's share of the new receipts' cost (it is spent now), in lease order."""
    drawn: dict[str, int] = {}
    for receipt in new:
        if receipt.cost_micros:
            for lease_id in receipt.lease_ids:
                drawn[lease_id] = drawn.get(lease_id, 0) + receipt.cost_micros
    return sorted(drawn.items())


def run_claims(new: Sequence[Receipt]) -> list[tuple[str, str]]:
    """A tenant's first receipt on a run no one has claimed makes the run its own: (run, tenant)."""
    firsts: dict[str, str] = {}
    for r in new:
        if r.tenant is not None:
            firsts.setdefault(r.run_id, r.tenant)
    return sorted(firsts.items())


async def book(conn: Conn, new: Sequence[Receipt], grouped: dict[BudgetKey, list[tuple[int, int]]],
               now_us: int) -> dict[BudgetKey, budgets.Crossing]:
    """Statement 4 (see the module's text): per scope of `grouped` with a budget, what its
    threshold crossings are reckoned from."""
    rollups = [(g, start, p, t.cost_micros, t.requests, t.input_tokens, t.output_tokens, t.saved_micros,
                t.cache_hits) for (g, start, p), t in sorted(rollup_deltas(new, now_us).items())]
    keys = sorted(grouped, key=lambda k: (k.scope, k.scope_id))
    totals = {k: sum(c for _, c in grouped[k]) for k in keys}
    cells = [(*cell, spent, n) for cell, (spent, n) in sorted(buckets.deltas(grouped).items())]
    rows = await conn.fetch(
        BOOK, *columns(lease_draws(new), 2), *columns(run_claims(new), 2), now_us, *columns(rollups, 9),
        list(GRAINS), [grain.cutoff(now_us) for grain in GRAINS.values()], *columns(cells, 5),
        [k.scope for k in keys], [k.scope_id for k in keys], [totals[k] for k in keys],
        [len(grouped[k]) for k in keys])
    out: dict[BudgetKey, budgets.Crossing] = {}
    for scope, scope_id, total, *budget in rows:
        if budget[0] is not None:
            key = BudgetKey(scope, scope_id)
            out[key] = (*budgets.budget_of(key, *budget), int(total) - totals[key], grouped[key])
    return out


async def ingest(conn: Conn, batch: Sequence[Receipt], now_us: int) -> IngestResult:
    """Inside one transaction: new receipts, their holds dropped and leases drawn down, run owners,
    rollups, spend and the threshold events it raises; a duplicate is counted, never re-added."""
    new = await insert_new(conn, batch, now_us)
    await series.apply(conn, new)
    events = await budgets.crossings(conn, await book(conn, new, by_scope(new), now_us), now_us)
    return IngestResult(accepted=len(new), duplicates=len(batch) - len(new), events=events, new=new)
