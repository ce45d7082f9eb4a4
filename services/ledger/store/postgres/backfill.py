"""Series backfill on PostgreSQL: one batch of the receipts migration 0010 listed (rows locked
FOR UPDATE SKIP LOCKED, so two ledgers backfilling at once take different batches), added to the
series by the ingest's own series method and struck off the list, in one transaction."""

from __future__ import annotations

from typing import Any

from services.ledger.analytics.backfill import BackfillStep, stored_receipts
from services.ledger.store.postgres import series
from services.ledger.store.sqlite.backfill import ANY, COUNT

Conn = Any


async def step(conn: Conn, limit: int) -> BackfillStep:
    ids = [r[0] for r in await conn.fetch("SELECT request_id FROM series_backfill_pending ORDER BY request_id"
                                          " LIMIT $1 FOR UPDATE SKIP LOCKED", limit)]
    if ids:
        rows = await conn.fetch("SELECT request_id, ts_us, body FROM receipts WHERE request_id = ANY($1::text[])", ids)
        receipts, _ = stored_receipts(tuple(r) for r in rows)
        await series.apply(conn, receipts)
        await conn.execute("DELETE FROM series_backfill_pending WHERE request_id = ANY($1::text[])", ids)
    else:
        receipts = []
    more = await conn.fetchval(f"SELECT EXISTS ({ANY})")  # counting what is left would cost O(left) a batch
    return BackfillStep(added=len(receipts), skipped=len(ids) - len(receipts), more=bool(more))


async def pending(conn: Conn) -> int:
    return int(await conn.fetchval(COUNT))
