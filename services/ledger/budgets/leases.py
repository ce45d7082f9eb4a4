"""Leases: a gateway holds a slice of a run's budget and reserves each request's worst case
against it in memory, so a budgeted request needs no ledger call of its own.

A lease is a hold (it counts in `held`) that grows on request, shrinks by the cost of every
receipt carrying its id (that money moves from held to spent) and by what the gateway returns.
The cap holds across gateways: a grant never makes spent + held exceed the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.ledger.budgets.model import BudgetState

LeaseKind = Literal["granted", "refused", "unbudgeted", "conflict"]


@dataclass(frozen=True)
class LeaseOutcome:
    kind: LeaseKind
    granted_micros: int = 0
    lease_micros: int = 0  # what the lease holds after the call
    expires_us: int = 0
    state: BudgetState | None = None


def grant(state: BudgetState, need_micros: int, want_micros: int) -> int | None:
    """How much to grant: as much of `want` as the budget has left, None when `need` does not fit."""
    available = max(state.remaining_micros, 0)
    if need_micros > available:
        return None
    return min(max(want_micros, need_micros), available)
