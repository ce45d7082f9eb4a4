"""Run owners: a run id is a name any caller may use; its budget belongs to one tenant, the first
to lease from it or to be charged on it, so another tenant is never charged to it nor shown it.
Callers without a key have no tenant and claim nothing (an open deployment has no tenants)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from services.ledger.receipts.parse import Receipt


def claim(conn: sqlite3.Connection, run_id: str, tenant: str, now_us: int) -> str:
    """The run's owner, `tenant` if it had none (inside the caller's write transaction)."""
    conn.execute("INSERT INTO run_owners (run_id, tenant, claimed_us) VALUES (?, ?, ?)"
                 " ON CONFLICT (run_id) DO NOTHING", (run_id, tenant, now_us))
    return owner(conn, run_id) or tenant


def owner(conn: sqlite3.Connection, run_id: str) -> str | None:
    row = conn.execute("SELECT tenant FROM run_owners WHERE run_id = ?", (run_id,)).fetchone()
    return None if row is None else str(row[0])


def claim_runs(conn: sqlite3.Connection, new: Sequence[Receipt], now_us: int) -> None:
    """A tenant's first receipt on a run no one has claimed makes the run its own."""
    firsts = dict.fromkeys((r.run_id, r.tenant) for r in new if r.tenant is not None)  # in order: the first wins
    conn.executemany("INSERT INTO run_owners (run_id, tenant, claimed_us) VALUES (?, ?, ?)"
                     " ON CONFLICT (run_id) DO NOTHING", [(run, tenant, now_us) for run, tenant in firsts])
