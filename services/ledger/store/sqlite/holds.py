"""Hold rows: the unexpired sum per budget, lookup, reserve, release, and lazy expiry."""

from __future__ import annotations

import sqlite3

from services.ledger.budgets.holds import Hold
from services.ledger.budgets.model import BudgetKey


def expire(conn: sqlite3.Connection, now_us: int) -> None:
    conn.execute("DELETE FROM holds WHERE expires_us <= ?", (now_us,))


def held(conn: sqlite3.Connection, key: BudgetKey, now_us: int) -> int:
    row = conn.execute("SELECT COALESCE(SUM(amount_micros), 0) FROM holds"
                       " WHERE scope = ? AND scope_id = ? AND expires_us > ?",
                       (key.scope, key.scope_id, now_us)).fetchone()
    return int(row[0])


def get(conn: sqlite3.Connection, hold_id: str, now_us: int) -> Hold | None:
    row = conn.execute("SELECT scope, scope_id, amount_micros, expires_us FROM holds"
                       " WHERE hold_id = ? AND expires_us > ?", (hold_id, now_us)).fetchone()
    if row is None:
        return None
    scope, scope_id, amount, expires = row
    return Hold(hold_id, BudgetKey(scope, scope_id), int(amount), int(expires))


def insert(conn: sqlite3.Connection, hold: Hold, now_us: int) -> None:
    conn.execute("INSERT INTO holds (hold_id, scope, scope_id, amount_micros, created_us,"
                 " expires_us) VALUES (?, ?, ?, ?, ?, ?)",
                 (hold.hold_id, hold.key.scope, hold.key.scope_id, hold.amount_micros, now_us,
                  hold.expires_us))


def delete(conn: sqlite3.Connection, hold_ids: list[str]) -> int:
    """Remove these holds (run `expire` first in the same transaction); how many existed."""
    return conn.executemany("DELETE FROM holds WHERE hold_id = ?", [(h,) for h in hold_ids]).rowcount


def figures(conn: sqlite3.Connection, now_us: int) -> tuple[int, int]:
    """Unexpired holds and leases, and the money they hold (for /metrics)."""
    count, held = conn.execute("SELECT COUNT(*), COALESCE(SUM(amount_micros), 0) FROM holds WHERE expires_us > ?",
                               (now_us,)).fetchone()
    return int(count), int(held)
