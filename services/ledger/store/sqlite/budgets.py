"""Budget rows with their terms, their recorded threshold events (per period), the snapshot
version, and a budget's state.

A budget is read back only when its amounts are integer microdollars in range, its terms are ones
the ledger accepts and its events carry thresholds of 1 to 100 at instants the ledger can show;
otherwise reading it is an UnreadableRow (a listing leaves it out), and DELETE still removes it."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import orjson

from services.common.errors import InvalidRequest
from services.common.money import MAX_AMOUNT, to_micros
from services.common.stored_rows import UnreadableRow, readable
from services.ledger.budgets.config import BudgetTerms, thresholds_of
from services.ledger.budgets.events import costs_by_period, raised
from services.ledger.budgets.model import BudgetKey, BudgetState, ThresholdEvent
from services.ledger.budgets.periods import ONCE, PERIODS, Window, windows_back, zone
from services.ledger.store.sqlite import buckets, holds, spend
from services.ledger.times import readable_us

WHERE = "WHERE scope = ? AND scope_id = ?"
MAX_MICROS = to_micros(MAX_AMOUNT)


def _micros(key: BudgetKey, value: object, column: str, *, least: int = -MAX_MICROS) -> int:
    """A stored amount of microdollars, or UnreadableRow naming its column."""
    if type(value) is not int or not least <= value <= MAX_MICROS:
        raise UnreadableRow("budgets", f"{key.scope}/{key.scope_id}", column)
    return value


def terms_of_row(key: BudgetKey, period: object, tz: object, thresholds: object) -> BudgetTerms:
    """Stored terms (either backend), or UnreadableRow naming the column that is not what the ledger writes."""
    def bad(column: str) -> UnreadableRow:
        return UnreadableRow("budgets", f"{key.scope}/{key.scope_id}", column)

    if period not in PERIODS:
        raise bad("period")
    assert isinstance(period, str)
    if (tz is not None or period != ONCE) and (not isinstance(tz, str) or zone(tz) is None):
        raise bad("tz")
    try:
        levels = thresholds_of(orjson.loads(thresholds))  # type: ignore[arg-type]
    except (orjson.JSONDecodeError, TypeError, InvalidRequest):
        raise bad("thresholds") from None
    return BudgetTerms(period, tz, levels)  # type: ignore[arg-type]


def thresholds_text(terms: BudgetTerms) -> str:
    return orjson.dumps(list(terms.thresholds)).decode()


def row(conn: sqlite3.Connection, key: BudgetKey) -> tuple[int, BudgetTerms] | None:
    found = conn.execute(f"SELECT budget_micros, period, tz, thresholds FROM budgets {WHERE}",
                         (key.scope, key.scope_id)).fetchone()
    if found is None:
        return None
    return _micros(key, found[0], "budget_micros", least=0), terms_of_row(key, *found[1:])


def put(conn: sqlite3.Connection, key: BudgetKey, budget_micros: int, terms: BudgetTerms, now_us: int) -> None:
    conn.execute(
        "INSERT INTO budgets (scope, scope_id, budget_micros, created_us, updated_us, period, tz, thresholds)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope, scope_id) DO UPDATE SET"
        " budget_micros = excluded.budget_micros, updated_us = excluded.updated_us, period = excluded.period,"
        " tz = excluded.tz, thresholds = excluded.thresholds",
        (key.scope, key.scope_id, budget_micros, now_us, now_us, terms.period, terms.tz, thresholds_text(terms)))


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


EVENTS = ("SELECT threshold, at_us, spent_micros, budget_micros, period_start_us FROM budget_events"
          " WHERE scope = ? AND scope_id = ?")


def events(conn: sqlite3.Connection, key: BudgetKey, terms: BudgetTerms,
           period_start_us: int) -> tuple[ThresholdEvent, ...]:
    rows = conn.execute(f"{EVENTS} AND period_start_us = ? ORDER BY threshold",
                        (key.scope, key.scope_id, period_start_us))
    return tuple(event_of(key, row, terms) for row in rows)


def event_of(key: BudgetKey, row: Sequence[object], terms: BudgetTerms) -> ThresholdEvent:
    """A stored (threshold, at_us, spent_micros, budget_micros, period_start_us) row, or
    UnreadableRow (either backend)."""
    threshold, at, spent_micros, budget_micros, period_start_us = row
    if type(threshold) is not int or not 1 <= threshold <= 100 or not readable_us(at) \
            or not readable_us(period_start_us):
        raise UnreadableRow("budgets", f"{key.scope}/{key.scope_id}", "budget_events")
    assert isinstance(at, int) and isinstance(period_start_us, int)
    return ThresholdEvent(key, threshold, at, _micros(key, spent_micros, "budget_events"),
                          _micros(key, budget_micros, "budget_events"), period_start_us, terms.thresholds)


def period_spent(conn: sqlite3.Connection, key: BudgetKey, terms: BudgetTerms, period_start_us: int) -> int:
    window = terms.window(period_start_us)
    assert window is not None
    return buckets.total(conn, key, window.start_us, window.end_us)


def record_crossings(conn: sqlite3.Connection, key: BudgetKey, spent_before: int,
                     items: Sequence[tuple[int, int]], now_us: int) -> list[ThresholdEvent]:
    """Record (once each per period) the thresholds reached as `items` ((timestamp, cost), already
    in the buckets) join `spent_before` (the one-off total before them)."""
    found = row(conn, key)
    if found is None:
        return []
    budget, terms = found
    out: list[ThresholdEvent] = []
    for period_start, costs in costs_by_period(terms, items, now_us).items():
        before = period_spent(conn, key, terms, period_start) - sum(costs) if terms.periodic else spent_before
        already = [e.threshold for e in events(conn, key, terms, period_start)]
        out += raised(key, budget, terms, period_start, before, costs, already, now_us)
    conn.executemany(
        "INSERT INTO budget_events (scope, scope_id, period_start_us, threshold, at_us, spent_micros, budget_micros)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(key.scope, key.scope_id, e.period_start_us, e.threshold, e.at_us, e.spent_micros, e.budget_micros)
         for e in out])
    return out


def state(conn: sqlite3.Connection, key: BudgetKey, now_us: int, *, with_burn: bool = False) -> BudgetState | None:
    found = row(conn, key)
    if found is None:
        return None
    budget, terms = found
    window = terms.window(now_us)
    try:
        spent = spend.spent(conn, key) if window is None else buckets.total(conn, key, window.start_us, window.end_us)
        held = holds.held(conn, key, now_us)
    except (ValueError, TypeError, OverflowError):
        raise UnreadableRow("budgets", f"{key.scope}/{key.scope_id}", "spend or holds") from None
    return BudgetState(key=key, budget_micros=budget, spent_micros=_micros(key, spent, "spend"),
                       held_micros=_micros(key, held, "holds"),
                       events=events(conn, key, terms, window.start_us if window else 0), terms=terms,
                       window=window, burn=buckets.burn(conn, key, now_us) if with_burn else None)


def history(conn: sqlite3.Connection, key: BudgetKey, now_us: int,
            count: int) -> list[tuple[Window, int, tuple[ThresholdEvent, ...]]] | None:
    """The current period and the `count` - 1 before it, newest first: (window, spent, events);
    None when there is no such budget. A one-off budget has one period, since the first receipt."""
    found = row(conn, key)
    if found is None:
        return None
    _, terms = found
    if not terms.periodic:
        return [(Window(0, now_us), spend.spent(conn, key), events(conn, key, terms, 0))]
    return [(w, buckets.total(conn, key, w.start_us, w.end_us), events(conn, key, terms, w.start_us))
            for w in windows_back(terms.period, terms.zone, now_us, count)]


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT value FROM meta WHERE key = 'budget_version'").fetchone()[0])


def bump_version(conn: sqlite3.Connection) -> int:
    conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'budget_version'")
    return version(conn)
