"""Holds, the hard cap: a reservation of a request's worst-case cost against a budget.

A hold fits when spent + held + amount <= budget. It lives until settled by its receipt
(hold_id = request_id), released, or expired (`hold_ttl_s`: a gateway that died never settles).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.common import budget_refusal
from services.common.budget_refusal import BudgetFigures
from services.common.errors import BudgetExceeded
from services.ledger.budgets.model import BudgetKey, BudgetState

HoldKind = Literal["held", "existing", "unbudgeted", "refused", "conflict", "settled"]


@dataclass(frozen=True)
class Hold:
    hold_id: str
    key: BudgetKey
    amount_micros: int
    expires_us: int


@dataclass(frozen=True)
class HoldOutcome:
    kind: HoldKind
    hold: Hold | None = None
    state: BudgetState | None = None


def fits(budget: int, spent: int, held: int, amount: int) -> bool:
    return spent + held + amount <= budget


def refusal(state: BudgetState, worst_micros: int, needed_micros: int | None = None) -> BudgetExceeded:
    """A 402 in plain words (services/common/budget_refusal.py): the budget, what is spent, what
    is held for requests in flight, and what the request could cost at worst."""
    figures = BudgetFigures(state.key.scope, state.key.scope_id, state.budget_micros, state.spent_micros,
                            state.held_micros)
    return budget_refusal.refusal(figures, worst_micros, needed_micros)
