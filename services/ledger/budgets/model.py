"""A budget's identity (scope, scope_id), its recorded threshold events, and its state."""

from __future__ import annotations

from dataclasses import dataclass

RUN = "run"
SCOPES = (RUN, "key", "team", "org")  # a request counts against its run's, key's, team's and org's


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


@dataclass(frozen=True)
class BudgetState:
    key: BudgetKey
    budget_micros: int
    spent_micros: int
    held_micros: int
    events: tuple[ThresholdEvent, ...] = ()

    @property
    def remaining_micros(self) -> int:
        return self.budget_micros - self.spent_micros - self.held_micros
