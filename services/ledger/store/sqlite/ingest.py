"""The ingest transaction: new receipts, their holds dropped or leases drawn down, spend, rollups,
series rollups and threshold events."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from services.ledger.budgets.model import BudgetKey, ThresholdEvent
from services.ledger.receipts.parse import Receipt
from services.ledger.store.base import IngestResult, SettleResult
from services.ledger.store.sqlite import budgets, holds, leases, owners, receipts, rollups, series, spend


def ingest(conn: sqlite3.Connection, batch: Sequence[Receipt], now_us: int) -> IngestResult:
    """Run inside one write transaction; a duplicate request_id is counted, never re-added."""
    holds.expire(conn, now_us)
    new = receipts.insert_new(conn, batch, now_us)
    holds.delete(conn, list(dict.fromkeys(r.request_id for r in batch)))
    leases.consume(conn, new)
    owners.claim_runs(conn, new, now_us)
    rollups.apply(conn, new, now_us)
    series.apply(conn, new)
    events: list[ThresholdEvent] = []
    for key, (before, items) in spend.add(conn, new).items():
        events += budgets.record_crossings(conn, key, before, items, now_us)
    return IngestResult(accepted=len(new), duplicates=len(batch) - len(new), events=events, new=new)


def settle(conn: sqlite3.Connection, hold_id: str, receipt: Receipt, now_us: int) -> SettleResult:
    holds.expire(conn, now_us)
    released = holds.delete(conn, [hold_id]) > 0
    result = ingest(conn, [receipt], now_us)
    state = budgets.state(conn, BudgetKey.run(receipt.run_id), now_us)
    return SettleResult(ingest=result, released=released, state=state)
