"""The budget status a caller sees (contracts/budget_status.schema.json), from a BudgetState."""

from __future__ import annotations

from typing import Any

from services.common.money import from_micros
from services.ledger.budgets.levels import level, percent
from services.ledger.budgets.model import RUN, BudgetState, ThresholdEvent
from services.ledger.budgets.runway import runway_body
from services.ledger.times import iso


def event_body(event: ThresholdEvent) -> dict[str, Any]:
    body = {"threshold": event.threshold, "level": event.level,
            "at": iso(event.at_us), "spent_usd": from_micros(event.spent_micros),
            "budget_usd": from_micros(event.budget_micros)}
    if event.period_start_us:
        body["period_start"] = iso(event.period_start_us)
    return body


def status_body(state: BudgetState) -> dict[str, Any]:
    spent, budget, terms = state.spent_micros, state.budget_micros, state.terms
    body: dict[str, Any] = {"scope": state.key.scope, "scope_id": state.key.scope_id}
    if state.key.scope == RUN:
        body["run_id"] = state.key.scope_id
    body |= {"budget_usd": from_micros(budget),
             "spent_usd": from_micros(spent), "held_usd": from_micros(state.held_micros),
             "remaining_usd": from_micros(state.remaining_micros),
             "percent": percent(spent, budget), "level": level(spent, budget, terms.thresholds),
             "events": [event_body(e) for e in state.events],
             "period": terms.period, "thresholds": list(terms.thresholds)}
    if state.window is not None:
        body |= {"tz": terms.tz, "period_start": iso(state.window.start_us), "period_end": iso(state.window.end_us)}
    if state.burn is not None:
        body["runway"] = runway_body(state, state.burn)
    return body
