"""Holds, the hard cap: a reservation of a request's worst-case cost against a budget.

A hold fits when spent + held + amount <= budget. It lives until settled by its receipt
(hold_id = request_id), released, or expired (`hold_ttl_s`: a gateway that died never settles).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.common.errors import BudgetExceeded
from services.common.money import from_micros
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


def refusal(state: BudgetState, amount_micros: int) -> BudgetExceeded:
    over = state.spent_micros + state.held_micros + amount_micros - state.budget_micros
    return BudgetExceeded(
        f"{state.key.scope} {state.key.scope_id}: budget ${from_micros(state.budget_micros)},"
        f" spent ${from_micros(state.spent_micros)}, held ${from_micros(state.held_micros)};"
        f" a hold of ${from_micros(amount_micros)} would exceed it by ${from_micros(over)}")
