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
    """A 402 in plain words: the budget, what is spent, what requests in flight hold, what is
    left, and what this request needed."""
    left = max(state.budget_micros - state.spent_micros - state.held_micros, 0)
    return BudgetExceeded(
        f"{state.key.scope} {state.key.scope_id} is over budget: budget ${from_micros(state.budget_micros)},"
        f" spent ${from_micros(state.spent_micros)}, held by requests in flight ${from_micros(state.held_micros)},"
        f" left ${from_micros(left)}; this request needs up to ${from_micros(amount_micros)}",
        extra={"budget_usd": from_micros(state.budget_micros), "spent_usd": from_micros(state.spent_micros),
               "held_usd": from_micros(state.held_micros), "remaining_usd": from_micros(left),
               "needed_usd": from_micros(amount_micros)})
