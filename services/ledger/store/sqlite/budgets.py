"""Budget rows, their recorded threshold events, the snapshot version, and a budget's state."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from services.ledger.budgets.levels import crossings
from services.ledger.budgets.model import BudgetKey, BudgetState, ThresholdEvent
from services.ledger.store.sqlite import holds, spend

WHERE = "WHERE scope = ? AND scope_id = ?"


def amount(conn: sqlite3.Connection, key: BudgetKey) -> int | None:
    row = conn.execute(f"SELECT budget_micros FROM budgets {WHERE}",
                       (key.scope, key.scope_id)).fetchone()
    return int(row[0]) if row else None


def put(conn: sqlite3.Connection, key: BudgetKey, budget_micros: int, now_us: int) -> None:
    conn.execute(
        "INSERT INTO budgets (scope, scope_id, budget_micros, created_us, updated_us)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, scope_id) DO UPDATE SET"
        " budget_micros = excluded.budget_micros, updated_us = excluded.updated_us",
        (key.scope, key.scope_id, budget_micros, now_us, now_us))


def remove(conn: sqlite3.Connection, key: BudgetKey) -> bool:
    """Drop the budget with its events and holds; whether there was one."""
    cur = conn.execute(f"DELETE FROM budgets {WHERE}", (key.scope, key.scope_id))
    conn.execute(f"DELETE FROM budget_events {WHERE}", (key.scope, key.scope_id))
    conn.execute(f"DELETE FROM holds {WHERE}", (key.scope, key.scope_id))
    return cur.rowcount == 1


def all_ids(conn: sqlite3.Connection) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for scope, scope_id in conn.execute("SELECT scope, scope_id FROM budgets ORDER BY scope, scope_id"):
        out.setdefault(scope, []).append(scope_id)
    return out


def caps(conn: sqlite3.Connection) -> dict[str, int]:
    """Every budget's cap in micros, as '<scope>:<scope_id>'."""
    return {f"{scope}:{scope_id}": int(amount)
            for scope, scope_id, amount in conn.execute("SELECT scope, scope_id, budget_micros FROM budgets")}


def ids(conn: sqlite3.Connection, scope: str) -> list[str]:
    rows = conn.execute("SELECT scope_id FROM budgets WHERE scope = ? ORDER BY scope_id", (scope,))
    return [scope_id for (scope_id,) in rows]


def events(conn: sqlite3.Connection, key: BudgetKey) -> tuple[ThresholdEvent, ...]:
    rows = conn.execute(f"SELECT threshold, at_us, spent_micros, budget_micros FROM budget_events"
                        f" {WHERE} ORDER BY threshold", (key.scope, key.scope_id))
    return tuple(ThresholdEvent(key, t, at, s, b) for t, at, s, b in rows)


def record_crossings(conn: sqlite3.Connection, key: BudgetKey, spent_before: int,
                     costs: Sequence[int], now_us: int) -> list[ThresholdEvent]:
    """Record (once each) the thresholds reached as `costs` join `spent_before`."""
    budget = amount(conn, key)
    if budget is None:
        return []
    already = [e.threshold for e in events(conn, key)]
    raised = [ThresholdEvent(key, t, now_us, at_spend, budget)
              for t, at_spend in crossings(budget, spent_before, costs, already)]
    conn.executemany(
        "INSERT INTO budget_events (scope, scope_id, threshold, at_us, spent_micros, budget_micros)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(key.scope, key.scope_id, e.threshold, e.at_us, e.spent_micros, e.budget_micros)
         for e in raised])
    return raised


def state(conn: sqlite3.Connection, key: BudgetKey, now_us: int) -> BudgetState | None:
    budget = amount(conn, key)
    if budget is None:
        return None
    return BudgetState(key=key, budget_micros=budget, spent_micros=spend.spent(conn, key),
                       held_micros=holds.held(conn, key, now_us), events=events(conn, key))


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT value FROM meta WHERE key = 'budget_version'").fetchone()[0])


def bump_version(conn: sqlite3.Connection) -> int:
    conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'budget_version'")
    return version(conn)
