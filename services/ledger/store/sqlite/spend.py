"""Running spend per budget scope (sum of its receipts), kept in step with every new receipt."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from services.ledger.budgets.model import BudgetKey
from services.ledger.budgets.scopes import scopes_of
from services.ledger.receipts.parse import Receipt

UPSERT = """
INSERT INTO spend (scope, scope_id, spent_micros, receipts) VALUES (?, ?, ?, ?)
ON CONFLICT (scope, scope_id) DO UPDATE SET
    spent_micros = spent_micros + excluded.spent_micros,
    receipts = receipts + excluded.receipts
"""


def spent(conn: sqlite3.Connection, key: BudgetKey) -> int:
    row = conn.execute("SELECT spent_micros FROM spend WHERE scope = ? AND scope_id = ?",
                       (key.scope, key.scope_id)).fetchone()
    return int(row[0]) if row else 0


def add(conn: sqlite3.Connection, new: Sequence[Receipt]) -> dict[BudgetKey, tuple[int, list[int]]]:
    """Add `new` receipts to their scopes' spend; per scope, (spend before, costs in order)."""
    grouped: dict[BudgetKey, list[int]] = {}
    for receipt in new:
        for key in scopes_of(receipt):
            grouped.setdefault(key, []).append(receipt.cost_micros)
    added: dict[BudgetKey, tuple[int, list[int]]] = {}
    for key, costs in grouped.items():
        added[key] = (spent(conn, key), costs)
        conn.execute(UPSERT, (key.scope, key.scope_id, sum(costs), len(costs)))
    return added
