"""The budget status a caller sees (contracts/budget_status.schema.json), from a BudgetState."""

from __future__ import annotations

from typing import Any

from services.common.money import from_micros
from services.ledger.budgets.levels import LEVEL_AT, level, percent
from services.ledger.budgets.model import RUN, BudgetState, ThresholdEvent
from services.ledger.times import iso


def event_body(event: ThresholdEvent) -> dict[str, Any]:
    return {"threshold": event.threshold, "level": LEVEL_AT[event.threshold],
            "at": iso(event.at_us), "spent_usd": from_micros(event.spent_micros),
            "budget_usd": from_micros(event.budget_micros)}


def status_body(state: BudgetState) -> dict[str, Any]:
    spent, budget = state.spent_micros, state.budget_micros
    body: dict[str, Any] = {"scope": state.key.scope, "scope_id": state.key.scope_id}
    if state.key.scope == RUN:
        body["run_id"] = state.key.scope_id
    return body | {"budget_usd": from_micros(budget),
            "spent_usd": from_micros(spent), "held_usd": from_micros(state.held_micros),
            "remaining_usd": from_micros(state.remaining_micros),
            "percent": percent(spent, budget), "level": level(spent, budget),
            "events": [event_body(e) for e in state.events]}
