"""The hold transaction: drop expired holds, then check and reserve as one step."""

from __future__ import annotations

import sqlite3

from services.ledger.budgets.holds import Hold, HoldOutcome, fits
from services.ledger.budgets.model import BudgetKey
from services.ledger.store.sqlite import budgets, holds, receipts


def place(conn: sqlite3.Connection, hold_id: str, key: BudgetKey, amount_micros: int,
          now_us: int, ttl_us: int) -> HoldOutcome:
    """Run inside one write transaction (BEGIN IMMEDIATE): nothing can reserve in between."""
    holds.expire(conn, now_us)
    existing = holds.get(conn, hold_id, now_us)
    if existing is not None:
        same = existing.key == key and existing.amount_micros == amount_micros
        return HoldOutcome("existing" if same else "conflict", existing,
                           budgets.state(conn, existing.key, now_us))
    state = budgets.state(conn, key, now_us)
    if state is None:
        return HoldOutcome("unbudgeted")
    if receipts.exists(conn, hold_id):
        return HoldOutcome("settled", state=state)
    if not fits(state.budget_micros, state.spent_micros, state.held_micros, amount_micros):
        return HoldOutcome("refused", state=state)
    hold = Hold(hold_id, key, amount_micros, now_us + ttl_us)
    holds.insert(conn, hold, now_us)
    return HoldOutcome("held", hold, budgets.state(conn, key, now_us))
