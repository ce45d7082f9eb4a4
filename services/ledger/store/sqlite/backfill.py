"""Series backfill on SQLite: one batch of the receipts migration 0010 listed, added to the
series by the ingest's own series method and struck off the list, in one write transaction."""

from __future__ import annotations

import sqlite3

from services.ledger.analytics.backfill import BackfillStep, stored_receipts
from services.ledger.store.sqlite import series

ANY = "SELECT 1 FROM series_backfill_pending"  # shared with PostgreSQL's
COUNT = "SELECT COUNT(*) FROM series_backfill_pending"


def step(conn: sqlite3.Connection, limit: int) -> BackfillStep:
    ids = [r for (r,) in conn.execute("SELECT request_id FROM series_backfill_pending ORDER BY request_id LIMIT ?",
                                      (limit,))]
    if not ids:
        return BackfillStep(added=0, skipped=0, more=False)
    marks = ", ".join("?" * len(ids))
    rows = conn.execute(f"SELECT request_id, ts_us, body FROM receipts WHERE request_id IN ({marks})", ids).fetchall()
    receipts, unreadable = stored_receipts(rows)
    series.apply(conn, receipts)
    conn.execute(f"DELETE FROM series_backfill_pending WHERE request_id IN ({marks})", ids)
    more = conn.execute(f"SELECT EXISTS ({ANY})").fetchone()[0]
    return BackfillStep(added=len(receipts), skipped=len(ids) - len(receipts), more=bool(more))


def pending(conn: sqlite3.Connection) -> int:
    return int(conn.execute(COUNT).fetchone()[0])
