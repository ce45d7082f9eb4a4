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

LeaseKind = Literal["granted", "refused", "unbudgeted", "conflict", "foreign"]


@dataclass(frozen=True)
class LeaseOutcome:
    kind: LeaseKind
    granted_micros: int = 0
    lease_micros: int = 0  # what the lease holds after the call
    expires_us: int = 0
    state: BudgetState | None = None


def grant(state: BudgetState, need_micros: int, want_micros: int, share: float = 1.0) -> int | None:
    """How much to grant: `need` when it fits (None when it does not), and up to `want` within
    `share` of what the budget has left, so that several gateways share a small budget instead
    of the first one taking all of it."""
    available = max(state.remaining_micros, 0)
    if need_micros > available:
        return None
    fair = int(available * share)
    return min(max(min(want_micros, fair), need_micros), available)
