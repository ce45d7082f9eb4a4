"""Budget levels and thresholds, in exact integer microdollars.

level: ok below 75 %, caution from 75 %, warning from 90 %, critical from 100 % of the budget
spent (committed receipts; holds are not spend). percent is rounded DOWN to 2 decimals, so the
percent shown never reaches a threshold the level has not. A zero budget: 0 % and ok while
nothing is spent, 100 % and critical as soon as anything is (holds above 0 never fit it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from decimal import ROUND_DOWN, Decimal

THRESHOLDS = (75, 90, 100)
LEVEL_AT = {75: "caution", 90: "warning", 100: "critical"}
CENT = Decimal("0.01")


def reached(spent: int, budget: int, threshold: int) -> bool:
    """spent / budget >= threshold %, exactly."""
    if budget == 0:
        return spent > 0
    return spent * 100 >= threshold * budget


def level(spent: int, budget: int) -> str:
    current = "ok"
    for threshold in THRESHOLDS:
        if reached(spent, budget, threshold):
            current = LEVEL_AT[threshold]
    return current


def percent(spent: int, budget: int) -> Decimal:
    if budget == 0:
        return Decimal(100 if spent > 0 else 0).quantize(CENT)
    return (Decimal(spent) * 100 / Decimal(budget)).quantize(CENT, rounding=ROUND_DOWN)


def crossings(budget: int, spent_before: int, costs: Iterable[int],
              already: Collection[int] = ()) -> list[tuple[int, int]]:
    """(threshold, spend when first reached) for each threshold reached while `costs` are added
    to `spent_before` in order. Thresholds in `already` are never raised again; one already
    reached before any cost (a budget set below the spend) is raised at `spent_before`."""
    raised = set(already)
    found: list[tuple[int, int]] = []
    spent = spent_before

    def check() -> None:
        for threshold in THRESHOLDS:
            if threshold not in raised and reached(spent, budget, threshold):
                raised.add(threshold)
                found.append((threshold, spent))

    check()
    for cost in costs:
        spent += cost
        check()
    return found
