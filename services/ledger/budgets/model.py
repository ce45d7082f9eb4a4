"""A budget's identity (scope, scope_id), its recorded threshold events, and its state."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.ledger.budgets.config import ONE_OFF, BudgetTerms
from services.ledger.budgets.levels import THRESHOLDS, level_at
from services.ledger.budgets.periods import Window

RUN = "run"
GLOBAL = "global"
GLOBAL_ID = "all"  # the one global budget's scope_id: every receipt counts against it
# a request counts against the budget of each: its run, key, user, team, org, provider, model, and all spend
SCOPES = (RUN, "key", "user", "team", "org", "provider", "model", GLOBAL)


@dataclass(frozen=True)
class BudgetKey:
    scope: str
    scope_id: str

    @classmethod
    def run(cls, run_id: str) -> BudgetKey:
        return cls(RUN, run_id)


@dataclass(frozen=True)
class ThresholdEvent:
    key: BudgetKey
    threshold: int
    at_us: int
    spent_micros: int
    budget_micros: int
    period_start_us: int = 0  # the period it was raised in (0: a one-off budget); raised once per period
    thresholds: tuple[int, ...] = THRESHOLDS  # the budget's, which name its level

    @property
    def level(self) -> str:
        return level_at(self.threshold, self.thresholds)


@dataclass(frozen=True)
class Burn:
    """Spend over the trailing windows the runway is computed from: [since_us, now)."""

    hour_micros: int
    hour_since_us: int
    day_micros: int
    day_since_us: int
    now_us: int


@dataclass(frozen=True)
class BudgetState:
    key: BudgetKey
    budget_micros: int
    spent_micros: int  # in the current period for a periodic budget
    held_micros: int
    events: tuple[ThresholdEvent, ...] = ()  # the current period's
    terms: BudgetTerms = ONE_OFF
    window: Window | None = None  # the current period; None for a one-off budget
    burn: Burn | None = field(default=None, compare=False)  # filled in for callers who show the runway

    @property
    def remaining_micros(self) -> int:
        return self.budget_micros - self.spent_micros - self.held_micros
