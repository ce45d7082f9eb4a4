"""Budget arithmetic: reached, level, percent and once-only threshold crossings."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.ledger.budgets.holds import fits
from services.ledger.budgets.levels import THRESHOLDS, crossings, level, percent, reached

micros = st.integers(min_value=0, max_value=10**15)


def test_levels_at_the_exact_thresholds() -> None:
    budget = 1_000_000
    assert level(749_999, budget) == "ok"
    assert level(750_000, budget) == "caution"
    assert level(899_999, budget) == "caution"
    assert level(900_000, budget) == "warning"
    assert level(999_999, budget) == "warning"
    assert level(1_000_000, budget) == "critical"
    assert level(5_000_000, budget) == "critical"


def test_percent_rounds_down_to_two_decimals() -> None:
    assert percent(333_333, 1_000_000) == Decimal("33.33")
    assert percent(999_999, 1_000_000) == Decimal("99.99")  # never shown as 100.00
    assert percent(2, 3) == Decimal("66.66")
    assert percent(3_000_000, 1_000_000) == Decimal("300.00")


def test_a_zero_budget() -> None:
    assert (percent(0, 0), level(0, 0)) == (Decimal("0.00"), "ok")
    assert (percent(1, 0), level(1, 0)) == (Decimal("100.00"), "critical")
    assert fits(0, 0, 0, 0) and not fits(0, 0, 0, 1)


@given(spent=micros, budget=micros.filter(bool))
def test_level_agrees_with_the_percent_shown(spent: int, budget: int) -> None:
    shown = percent(spent, budget)
    expected = "ok"
    for threshold, name in zip(THRESHOLDS, ("caution", "warning", "critical"), strict=True):
        if shown >= threshold:
            expected = name
    assert level(spent, budget) == expected
    assert shown <= Decimal(spent) * 100 / Decimal(budget) < shown + Decimal("0.01")


def test_crossings_record_the_spend_at_which_each_threshold_was_reached() -> None:
    assert crossings(100, 0, [50, 30, 5, 20]) == [(75, 80), (90, 105), (100, 105)]
    assert crossings(100, 80, [5], already=[75]) == []
    assert crossings(100, 95, [], already=[75]) == [(90, 95)]  # a budget lowered below the spend


@given(budget=micros, start=micros, costs=st.lists(micros, max_size=30),
       already=st.sets(st.sampled_from(THRESHOLDS)))
def test_each_threshold_is_raised_at_most_once_and_only_when_reached(
        budget: int, start: int, costs: list[int], already: set[int]) -> None:
    found = crossings(budget, start, costs, already)
    thresholds = [t for t, _ in found]
    assert len(thresholds) == len(set(thresholds))
    assert not set(thresholds) & already
    assert thresholds == sorted(thresholds)
    for threshold, spent in found:
        assert reached(spent, budget, threshold)
    final = start + sum(costs)
    assert set(thresholds) | already >= {t for t in THRESHOLDS if reached(final, budget, t)}


@given(budget=micros, spent=micros, held=micros, amount=micros)
def test_a_hold_fits_only_within_the_budget(budget: int, spent: int, held: int,
                                            amount: int) -> None:
    assert fits(budget, spent, held, amount) == (spent + held + amount <= budget)
