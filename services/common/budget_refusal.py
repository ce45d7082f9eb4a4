"""A budget's 402 in plain words: the budget, what is spent, what is held for requests in flight,
and what the refused request could cost at worst.

The ledger says it when a hold or a lease does not fit; the gateway says it again, with its own
request's worst case, when it answers from a refusal it remembers, and when the budget had room
but other requests in flight took its lease's money first (`contention`: the figures are those
the ledger sent with its last grant to that lease; services/gateway/budgets).
The figures also travel as numbers in the error body: `budget_usd`, `spent_usd`, `held_usd`,
`remaining_usd`, `worst_case_usd` and `needed_usd` (what was asked of the ledger: the hold, or
the lease's shortfall).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.common.errors import BudgetExceeded
from services.common.money import dollars, from_micros, to_micros


@dataclass(frozen=True)
class BudgetFigures:
    scope: str  # 'run', 'team', 'key', 'global'...
    scope_id: str
    budget_micros: int
    spent_micros: int
    held_micros: int

    @property
    def left_micros(self) -> int:
        return max(self.budget_micros - self.spent_micros - self.held_micros, 0)

    @classmethod
    def of_error(cls, scope: str, scope_id: str, err: dict[str, Any]) -> BudgetFigures | None:
        """The figures a 402 body carries, or None when it carries none (an older ledger)."""
        try:
            return cls(scope, scope_id, *(_micros(err[k]) for k in ("budget_usd", "spent_usd", "held_usd")))
        except (KeyError, TypeError, ValueError, ArithmeticError):
            return None


def whose(scope: str, scope_id: str) -> str:
    return "the global budget" if scope == "global" else f"{scope} {scope_id}'s budget"


def words(figures: BudgetFigures, worst_micros: int) -> str:
    """e.g. "run r1's budget is $1.00; $0.98 is spent and $0.01 held for requests in flight; this
    request could cost up to $0.05"."""
    return (f"{whose(figures.scope, figures.scope_id)} is {dollars(figures.budget_micros)};"
            f" {dollars(figures.spent_micros)} is spent and {dollars(figures.held_micros)} held for requests"
            f" in flight; this request could cost up to {dollars(worst_micros)}")


def refusal(figures: BudgetFigures, worst_micros: int, needed_micros: int | None = None,
            extra: dict[str, Any] | None = None, why: str = "") -> BudgetExceeded:
    """The 402: `worst_micros` is the request's worst case, `needed_micros` what was asked of the
    ledger for it (the worst case itself for a hold; a lease's shortfall); `why` follows the figures
    when they alone do not say it."""
    return BudgetExceeded(words(figures, worst_micros) + why, extra={
        **(extra or {}),
        "budget_usd": from_micros(figures.budget_micros), "spent_usd": from_micros(figures.spent_micros),
        "held_usd": from_micros(figures.held_micros), "remaining_usd": from_micros(figures.left_micros),
        "worst_case_usd": from_micros(worst_micros),
        "needed_usd": from_micros(worst_micros if needed_micros is None else needed_micros)})


def _micros(value: object) -> int:
    amount = Decimal(str(value))
    if not amount.is_finite() or amount < 0:
        raise ValueError(value)
    return to_micros(amount)


def contention(figures: BudgetFigures, worst_micros: int, tries: int,
               extra: dict[str, Any] | None = None) -> BudgetExceeded:
    """The 402 of a request whose `tries` grants, each for its own need, went to other requests in
    flight first: the budget had room (as of the last grant) and none of it reached this request."""
    return refusal(figures, worst_micros, worst_micros, extra, why=(
        f". The budget had room: the ledger granted this request's need {tries} times, and each time other"
        " requests in flight took it first (figures as of the last grant); it fits once they finish"))
