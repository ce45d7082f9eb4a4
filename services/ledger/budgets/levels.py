"""Budget levels and thresholds, in exact integer microdollars.

A budget's thresholds are percentages of it (default 75, 90, 100; each budget may set its own).
level: ok below the first, then for the highest threshold reached: critical at 100 %, warning
at the highest threshold under 100, caution at any lower one (so the default gives caution from
75 %, warning from 90 %, critical from 100 %). Spent is committed receipts (holds are not spend).
percent is rounded DOWN to 2 decimals, so the percent shown never reaches a threshold the level
has not. A zero budget: 0 % and ok while nothing is spent, 100 % and critical as soon as
anything is (holds above 0 never fit it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from decimal import ROUND_DOWN, Decimal

THRESHOLDS = (75, 90, 100)
LEVEL_AT = {75: "caution", 90: "warning", 100: "critical"}
CENT = Decimal("0.01")


def reached(spent: int, budget: int, threshold: int) -> bool:
    """spent / budget >= threshold %, exactly."""
    if budget == 0:
        return spent > 0
    return spent * 100 >= threshold * budget


def level_at(threshold: int, thresholds: Sequence[int] = THRESHOLDS) -> str:
    """The level a threshold stands for among a budget's thresholds."""
    if threshold >= 100:
        return "critical"
    below = [t for t in thresholds if t < 100]
    return "warning" if below and threshold == max(below) else "caution"


def level(spent: int, budget: int, thresholds: Sequence[int] = THRESHOLDS) -> str:
    current = "ok"
    for threshold in thresholds:
        if reached(spent, budget, threshold):
            current = level_at(threshold, thresholds)
    return current


def percent(spent: int, budget: int) -> Decimal:
    if budget == 0:
        return Decimal(100 if spent > 0 else 0).quantize(CENT)
    return (Decimal(spent) * 100 / Decimal(budget)).quantize(CENT, rounding=ROUND_DOWN)


def crossings(budget: int, spent_before: int, costs: Iterable[int],
              already: Collection[int] = (), thresholds: Sequence[int] = THRESHOLDS) -> list[tuple[int, int]]:
    """(threshold, spend when first reached) for each threshold reached while `costs` are added
    to `spent_before` in order. Thresholds in `already` are never raised again; one already
    reached before any cost (a budget set below the spend) is raised at `spent_before`."""
    raised = set(already)
    found: list[tuple[int, int]] = []
    spent = spent_before

    def check() -> None:
        for threshold in thresholds:
            if threshold not in raised and reached(spent, budget, threshold):
                raised.add(threshold)
                found.append((threshold, spent))

    check()
    for cost in costs:
        spent += cost
        check()
    return found
