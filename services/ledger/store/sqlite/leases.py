"""Lease rows live in the holds table (a lease is a hold that grows and shrinks): grow, give
back, and consume by receipts."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from services.ledger.budgets.holds import Hold
from services.ledger.budgets.leases import LeaseOutcome, grant
from services.ledger.budgets.model import RUN, BudgetKey
from services.ledger.receipts.parse import Receipt
from services.ledger.store.sqlite import budgets, holds, owners


def grow(conn: sqlite3.Connection, lease_id: str, key: BudgetKey, need_micros: int,
         want_micros: int, now_us: int, ttl_us: int, share: float = 1.0,
         tenant: str | None = None) -> LeaseOutcome:
    """Run inside one write transaction: the check and the grant cannot interleave. A run's budget
    belongs to the first tenant that leases from it; another tenant's lease is `foreign`."""
    holds.expire(conn, now_us)
    existing = holds.get(conn, lease_id, now_us)
    if existing is not None and existing.key != key:
        return LeaseOutcome("conflict", lease_micros=existing.amount_micros)
    state = budgets.state(conn, key, now_us)
    if state is None:
        return LeaseOutcome("unbudgeted")
    if key.scope == RUN and tenant is not None and owners.claim(conn, key.scope_id, tenant, now_us) != tenant:
        return LeaseOutcome("foreign")
    granted = grant(state, need_micros, want_micros, share)
    if granted is None:
        return LeaseOutcome("refused", state=state,
                            lease_micros=existing.amount_micros if existing else 0)
    expires = now_us + ttl_us
    if existing is None:
        holds.insert(conn, Hold(lease_id, key, granted, expires), now_us)
    else:
        conn.execute("UPDATE holds SET amount_micros = amount_micros + ?, expires_us = ?"
                     " WHERE hold_id = ?", (granted, expires, lease_id))
    total = granted + (existing.amount_micros if existing else 0)
    return LeaseOutcome("granted", granted, total, expires, budgets.state(conn, key, now_us))


def give_back(conn: sqlite3.Connection, lease_id: str, amount_micros: int,
              now_us: int) -> LeaseOutcome | None:
    """Return up to `amount` of the lease; None when there is no such (unexpired) lease."""
    holds.expire(conn, now_us)
    existing = holds.get(conn, lease_id, now_us)
    if existing is None:
        return None
    returned = min(amount_micros, existing.amount_micros)
    conn.execute("UPDATE holds SET amount_micros = amount_micros - ? WHERE hold_id = ?",
                 (returned, lease_id))
    return LeaseOutcome("granted", -returned, existing.amount_micros - returned, existing.expires_us,
                        budgets.state(conn, existing.key, now_us))


def consume(conn: sqlite3.Connection, new: Sequence[Receipt]) -> None:
    """Move each new receipt's cost out of its lease (never below zero): it is spent now."""
    conn.executemany("UPDATE holds SET amount_micros = MAX(amount_micros - ?, 0) WHERE hold_id = ?",
                     [(r.cost_micros, lease_id) for r in new if r.cost_micros for lease_id in r.lease_ids])
