"""Threshold events, once per period: which thresholds a batch of receipts crosses in each period
of a budget (the one period 0 of a one-off budget), given what was already raised there."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from services.ledger.budgets.config import BudgetTerms
from services.ledger.budgets.levels import crossings
from services.ledger.budgets.model import BudgetKey, ThresholdEvent


def costs_by_period(terms: BudgetTerms, items: Sequence[tuple[int, int]], now_us: int) -> dict[int, list[int]]:
    """The costs of (timestamp, cost) pairs per period they fall in (by period start; 0 for a
    one-off budget), in order; no pairs: the current period with no costs (a budget just set)."""
    if not items:
        return {terms.period_key(now_us): []}
    out: dict[int, list[int]] = {}
    for ts_us, cost in items:
        out.setdefault(terms.period_key(ts_us), []).append(cost)
    return out


def raised(key: BudgetKey, budget: int, terms: BudgetTerms, period_start_us: int, before: int,
           costs: Sequence[int], already: Collection[int], now_us: int) -> list[ThresholdEvent]:
    return [ThresholdEvent(key, t, now_us, at_spend, budget, period_start_us, terms.thresholds)
            for t, at_spend in crossings(budget, before, costs, already, terms.thresholds)]
