"""Running spend per budget scope (sum of its receipts), kept in step with every new receipt, in
total and in 15-minute buckets (buckets.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from services.ledger.budgets.model import BudgetKey
from services.ledger.budgets.scopes import scope_ids
from services.ledger.receipts.parse import Receipt
from services.ledger.store.sqlite import buckets

UPSERT = """
INSERT INTO spend (scope, scope_id, spent_micros, receipts) VALUES (?, ?, ?, ?)
ON CONFLICT (scope, scope_id) DO UPDATE SET
    spent_micros = spent_micros + excluded.spent_micros,
    receipts = receipts + excluded.receipts
"""

Added = dict[BudgetKey, tuple[int, list[tuple[int, int]]]]


def spent(conn: sqlite3.Connection, key: BudgetKey) -> int:
    row = conn.execute("SELECT spent_micros FROM spend WHERE scope = ? AND scope_id = ?",
                       (key.scope, key.scope_id)).fetchone()
    return int(row[0]) if row else 0


def by_scope(new: Sequence[Receipt]) -> dict[BudgetKey, list[tuple[int, int]]]:
    """The (timestamp, cost) of each receipt per scope it counts against, in order."""
    grouped: dict[tuple[str, str], list[tuple[int, int]]] = {}  # one BudgetKey per scope, not per receipt
    for receipt in new:
        item = (receipt.ts_us, receipt.cost_micros)
        for pair in scope_ids(receipt):
            items = grouped.get(pair)
            if items is None:
                items = grouped[pair] = []
            items.append(item)
    return {BudgetKey(scope, scope_id): items for (scope, scope_id), items in grouped.items()}


def add(conn: sqlite3.Connection, new: Sequence[Receipt]) -> Added:
    """Add `new` receipts to their scopes' spend and buckets; per scope, (total spend before,
    (timestamp, cost) in order)."""
    grouped = by_scope(new)
    added: Added = {}
    for key, items in grouped.items():
        added[key] = (spent(conn, key), items)
        conn.execute(UPSERT, (key.scope, key.scope_id, sum(c for _, c in items), len(items)))
    buckets.add(conn, grouped)
    return added
