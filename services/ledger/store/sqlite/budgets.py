"""Budget rows, their recorded threshold events, the snapshot version, and a budget's state.

A budget is read back only when its amounts are integer microdollars in range and its events carry
known thresholds at instants the ledger can show; otherwise reading it is an UnreadableRow (a
listing leaves it out), and DELETE still removes it."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from services.common.money import MAX_AMOUNT, to_micros
from services.common.stored_rows import UnreadableRow, readable
from services.ledger.budgets.levels import LEVEL_AT, crossings
from services.ledger.budgets.model import BudgetKey, BudgetState, ThresholdEvent
from services.ledger.store.sqlite import holds, spend
from services.ledger.times import readable_us

WHERE = "WHERE scope = ? AND scope_id = ?"
MAX_MICROS = to_micros(MAX_AMOUNT)


def _micros(key: BudgetKey, value: object, column: str, *, least: int = -MAX_MICROS) -> int:
    """A stored amount of microdollars, or UnreadableRow naming its column."""
    if type(value) is not int or not least <= value <= MAX_MICROS:
        raise UnreadableRow("budgets", f"{key.scope}/{key.scope_id}", column)
    return value


def amount(conn: sqlite3.Connection, key: BudgetKey) -> int | None:
    row = conn.execute(f"SELECT budget_micros FROM budgets {WHERE}",
                       (key.scope, key.scope_id)).fetchone()
    return _micros(key, row[0], "budget_micros", least=0) if row else None


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


def _id(row: tuple[object, ...]) -> BudgetKey:
    scope, scope_id = row[:2]
    if not isinstance(scope, str) or not isinstance(scope_id, str):
        raise UnreadableRow("budgets", f"{scope}/{scope_id}", "scope or scope_id")
    return BudgetKey(scope, scope_id)


def all_ids(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """Every budget's id by scope, those with an unreadable amount too (a gateway then asks the
    ledger, which refuses, rather than spending unbudgeted)."""
    out: dict[str, list[str]] = {}
    for key in readable(conn.execute("SELECT scope, scope_id FROM budgets ORDER BY scope, scope_id"), _id):
        out.setdefault(key.scope, []).append(key.scope_id)
    return out


def _cap(row: tuple[object, ...]) -> tuple[str, int]:
    key = _id(row)
    return f"{key.scope}:{key.scope_id}", _micros(key, row[2], "budget_micros", least=0)


def caps(conn: sqlite3.Connection) -> dict[str, int]:
    """Every readable budget's cap in micros, as '<scope>:<scope_id>'."""
    return dict(readable(conn.execute("SELECT scope, scope_id, budget_micros FROM budgets"), _cap))


def ids(conn: sqlite3.Connection, scope: str) -> list[str]:
    rows = conn.execute("SELECT scope, scope_id FROM budgets WHERE scope = ? ORDER BY scope_id", (scope,))
    return [key.scope_id for key in readable(rows, _id)]


def events(conn: sqlite3.Connection, key: BudgetKey) -> tuple[ThresholdEvent, ...]:
    rows = conn.execute(f"SELECT threshold, at_us, spent_micros, budget_micros FROM budget_events"
                        f" {WHERE} ORDER BY threshold", (key.scope, key.scope_id))
    return tuple(event_of(key, row) for row in rows)


def event_of(key: BudgetKey, row: Sequence[object]) -> ThresholdEvent:
    """A stored (threshold, at_us, spent_micros, budget_micros) row, or UnreadableRow (either backend)."""
    threshold, at, spent_micros, budget_micros = row
    if threshold not in LEVEL_AT or not readable_us(at):
        raise UnreadableRow("budgets", f"{key.scope}/{key.scope_id}", "budget_events")
    assert isinstance(threshold, int) and isinstance(at, int)
    return ThresholdEvent(key, threshold, at, _micros(key, spent_micros, "budget_events"),
                          _micros(key, budget_micros, "budget_events"))


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
    try:
        spent, held = spend.spent(conn, key), holds.held(conn, key, now_us)
    except (ValueError, TypeError, OverflowError):
        raise UnreadableRow("budgets", f"{key.scope}/{key.scope_id}", "spend or holds") from None
    return BudgetState(key=key, budget_micros=budget, spent_micros=_micros(key, spent, "spend"),
                       held_micros=_micros(key, held, "holds"), events=events(conn, key))


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT value FROM meta WHERE key = 'budget_version'").fetchone()[0])


def bump_version(conn: sqlite3.Connection) -> int:
    conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'budget_version'")
    return version(conn)
