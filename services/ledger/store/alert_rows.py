"""The alert tables' transactions, written once for SQLite and PostgreSQL (see scripted.py).

Dedupe lives in the schema: `alerts_one_open_per_rule` lets one alert per rule be open, and
`alert_deliveries` is unique on (channel, kind, subject), so an evaluation that races another
(in this ledger or a replica on the same PostgreSQL) fires nothing and enqueues nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.ledger.alerts.model import (
    ACKNOWLEDGED,
    DELIVERED,
    FAILED,
    FIRING,
    PENDING,
    RESOLVED,
    Alert,
    Attempt,
    Change,
    Delivery,
)
from services.ledger.store.scripted import Script, Sql

ALERT_COLUMNS = "alert_id, rule_id, state, severity, summary, value, fired_us, acked_us, resolved_us"
DELIVERY_COLUMNS = ("delivery_id, channel_id, kind, subject, payload, status, attempts, next_us, last_error,"
                    " created_us, updated_us")


def _alert(row: Sequence[Any]) -> Alert:
    return Alert(*row)


def _delivery(row: Sequence[Any]) -> Delivery:
    return Delivery(*row)


# -- rules and channels: (id, spec JSON, created, updated) ------------------------------------------

def put_spec(table: str, id_column: str, item_id: str, spec: str, now_us: int) -> Script[bool]:
    """Create or replace; True when it was created."""
    changed = yield Sql(f"UPDATE {table} SET spec = ?, updated_us = ? WHERE {id_column} = ?", (spec, now_us, item_id))
    if changed:
        return False
    yield Sql(f"INSERT INTO {table} ({id_column}, spec, created_us, updated_us) VALUES (?, ?, ?, ?)",
              (item_id, spec, now_us, now_us))
    return True


def specs(table: str, id_column: str, item_id: str | None = None) -> Script[list[tuple[str, str, int]]]:
    where, args = (f" WHERE {id_column} = ?", (item_id,)) if item_id is not None else ("", ())
    rows = yield Sql(f"SELECT {id_column}, spec, created_us FROM {table}{where} ORDER BY created_us, {id_column}",
                     args, rows=True)
    return [(r[0], r[1], r[2]) for r in rows]


def delete_spec(table: str, id_column: str, item_id: str) -> Script[bool]:
    return bool((yield Sql(f"DELETE FROM {table} WHERE {id_column} = ?", (item_id,))))


# -- alerts ---------------------------------------------------------------------------------------

def _history(alert_id: str, at_us: int, state: str, value: str | None, note: str | None) -> Sql:
    return Sql("INSERT INTO alert_history (alert_id, at_us, state, value, note) VALUES (?, ?, ?, ?, ?)",
               (alert_id, at_us, state, value, note))


def enqueue(deliveries: Sequence[Delivery]) -> Script[int]:
    """Deliveries not already queued for their (channel, kind, subject); how many were added."""
    added = 0
    for d in deliveries:
        added += yield Sql(f"INSERT INTO alert_deliveries ({DELIVERY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                           " ON CONFLICT (channel_id, kind, subject) DO NOTHING",
                           (d.delivery_id, d.channel_id, d.kind, d.subject, d.payload, d.status, d.attempts,
                            d.next_us, d.last_error, d.created_us, d.updated_us))
    return added


def fire(alert: Alert, deliveries: Sequence[Delivery]) -> Script[bool]:
    """Open `alert` and queue its notifications, unless its rule already has an open alert."""
    opened = yield Sql(f"INSERT INTO alerts ({ALERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                       " ON CONFLICT (rule_id) WHERE resolved_us IS NULL DO NOTHING",
                       (alert.alert_id, alert.rule_id, FIRING, alert.severity, alert.summary, alert.value,
                        alert.fired_us, None, None))
    if not opened:
        return False
    yield _history(alert.alert_id, alert.fired_us, FIRING, alert.value, alert.summary)
    yield from enqueue(deliveries)
    return True


def resolve(alert_id: str, now_us: int, value: str | None, note: str,
            deliveries: Sequence[Delivery]) -> Script[bool]:
    """Resolve an open alert and queue its notifications; False when it was no longer open."""
    closed = yield Sql("UPDATE alerts SET state = ?, resolved_us = ? WHERE alert_id = ? AND resolved_us IS NULL",
                       (RESOLVED, now_us, alert_id))
    if not closed:
        return False
    yield _history(alert_id, now_us, RESOLVED, value, note)
    yield from enqueue(deliveries)
    return True


def acknowledge(alert_id: str, now_us: int, note: str | None) -> Script[str | None]:
    """The alert's state after the acknowledgement (None: no such alert); only a firing one moves."""
    rows = yield Sql("SELECT state FROM alerts WHERE alert_id = ?", (alert_id,), rows=True)
    if not rows:
        return None
    moved = yield Sql("UPDATE alerts SET state = ?, acked_us = ? WHERE alert_id = ? AND state = ?",
                      (ACKNOWLEDGED, now_us, alert_id, FIRING))
    if moved:
        yield _history(alert_id, now_us, ACKNOWLEDGED, None, note)
        return ACKNOWLEDGED
    return str(rows[0][0])


def open_alerts() -> Script[list[Alert]]:
    rows = yield Sql(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE resolved_us IS NULL ORDER BY fired_us", rows=True)
    return [_alert(r) for r in rows]


def _filtered(columns: str, table: str, filters: dict[str, str | None], order: str, limit: int) -> Sql:
    """`columns` of `table`'s rows whose columns equal each filter that is not None, newest first."""
    given = {column: value for column, value in filters.items() if value is not None}
    where = " AND ".join(["1 = 1", *(f"{column} = ?" for column in given)])
    return Sql(f"SELECT {columns} FROM {table} WHERE {where} ORDER BY {order} LIMIT ?", (*given.values(), limit),
               rows=True)


def alerts(state: str | None, rule_id: str | None, limit: int) -> Script[list[Alert]]:
    rows = yield _filtered(ALERT_COLUMNS, "alerts", {"state": state, "rule_id": rule_id}, "fired_us DESC, alert_id",
                           limit)
    return [_alert(r) for r in rows]


def alert(alert_id: str) -> Script[tuple[Alert, list[Change]] | None]:
    rows = yield Sql(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE alert_id = ?", (alert_id,), rows=True)
    if not rows:
        return None
    history = yield Sql("SELECT at_us, state, value, note FROM alert_history WHERE alert_id = ? ORDER BY seq",
                        (alert_id,), rows=True)
    return _alert(rows[0]), [Change(*h) for h in history]


# -- deliveries -------------------------------------------------------------------------------------

def any_due(now_us: int) -> Script[bool]:
    rows = yield Sql("SELECT 1 FROM alert_deliveries WHERE status = ? AND next_us <= ? LIMIT 1", (PENDING, now_us),
                     rows=True)
    return bool(rows)


def claim_due(now_us: int, lease_us: int, limit: int) -> Script[list[Delivery]]:
    """Pending deliveries that are due, each pushed `lease_us` ahead so that no other worker (here or
    on a replica) takes it while this one tries it."""
    rows = yield Sql(f"SELECT {DELIVERY_COLUMNS} FROM alert_deliveries WHERE status = ? AND next_us <= ?"
                     " ORDER BY next_us, delivery_id LIMIT ?", (PENDING, now_us, limit), rows=True,
                     pg_suffix=" FOR UPDATE SKIP LOCKED")
    for row in rows:
        yield Sql("UPDATE alert_deliveries SET next_us = ? WHERE delivery_id = ?", (now_us + lease_us, row[0]))
    return [_delivery(r) for r in rows]


def record_attempt(delivery_id: str, now_us: int, error: str | None, next_us: int | None) -> Script[None]:
    """One attempt: delivered (no error), retried at `next_us`, or failed for good (`next_us` None)."""
    rows = yield Sql("SELECT attempts FROM alert_deliveries WHERE delivery_id = ?", (delivery_id,), rows=True)
    attempt = int(rows[0][0]) + 1
    yield Sql("INSERT INTO alert_attempts (delivery_id, attempt, at_us, ok, error) VALUES (?, ?, ?, ?, ?)",
              (delivery_id, attempt, now_us, int(error is None), error))
    status = DELIVERED if error is None else (PENDING if next_us is not None else FAILED)
    yield Sql("UPDATE alert_deliveries SET status = ?, attempts = ?, next_us = ?, last_error = ?, updated_us = ?"
              " WHERE delivery_id = ?", (status, attempt, next_us if next_us is not None else now_us, error,
                                         now_us, delivery_id))


def deliveries(status: str | None, kind: str | None, limit: int) -> Script[list[Delivery]]:
    rows = yield _filtered(DELIVERY_COLUMNS, "alert_deliveries", {"status": status, "kind": kind},
                           "created_us DESC, delivery_id", limit)
    return [_delivery(r) for r in rows]


def delivery(delivery_id: str) -> Script[tuple[Delivery, list[Attempt]] | None]:
    rows = yield Sql(f"SELECT {DELIVERY_COLUMNS} FROM alert_deliveries WHERE delivery_id = ?", (delivery_id,),
                     rows=True)
    if not rows:
        return None
    tries = yield Sql("SELECT attempt, at_us, ok, error FROM alert_attempts WHERE delivery_id = ? ORDER BY attempt",
                      (delivery_id,), rows=True)
    return _delivery(rows[0]), [Attempt(t[0], t[1], bool(t[2]), t[3]) for t in tries]


def retry(delivery_id: str, now_us: int) -> Script[bool]:
    """A failed delivery back in the queue, due now (its attempts so far stay recorded)."""
    return bool((yield Sql("UPDATE alert_deliveries SET status = ?, next_us = ?, updated_us = ?"
                           " WHERE delivery_id = ? AND status = ?", (PENDING, now_us, now_us, delivery_id, FAILED))))


# -- what summaries read -------------------------------------------------------------

def budget_events_since(since_us: int) -> Script[list[tuple[Any, ...]]]:
    """(scope, scope_id, threshold, at_us, spent_micros, budget_micros, period_start_us, the budget's
    thresholds as JSON or None) of every budget threshold event raised at or after `since_us`."""
    rows = yield Sql("SELECT e.scope, e.scope_id, e.threshold, e.at_us, e.spent_micros, e.budget_micros,"
                     " e.period_start_us, b.thresholds FROM budget_events e LEFT JOIN budgets b"
                     " ON b.scope = e.scope AND b.scope_id = e.scope_id WHERE e.at_us >= ? ORDER BY e.at_us",
                     (since_us,), rows=True)
    return list(rows)


def alert_counts(first_us: int, last_us: int) -> Script[dict[str, int]]:
    """Alerts fired and resolved in [first, last), those open now, and deliveries failed in it."""
    fired = yield Sql("SELECT COUNT(*) FROM alerts WHERE fired_us >= ? AND fired_us < ?", (first_us, last_us),
                      rows=True)
    resolved = yield Sql("SELECT COUNT(*) FROM alerts WHERE resolved_us >= ? AND resolved_us < ?",
                         (first_us, last_us), rows=True)
    still = yield Sql("SELECT COUNT(*) FROM alerts WHERE resolved_us IS NULL", rows=True)
    failed = yield Sql("SELECT COUNT(*) FROM alert_deliveries WHERE status = ? AND updated_us >= ?"
                       " AND updated_us < ?", (FAILED, first_us, last_us), rows=True)
    return {"fired": int(fired[0][0]), "resolved": int(resolved[0][0]), "open": int(still[0][0]),
            "failed_deliveries": int(failed[0][0])}
