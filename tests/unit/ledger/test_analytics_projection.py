"""Projections on synthetic daily spend with known answers: an exact line, a line with known
residuals (against numpy's least squares and the exact Student-t quantile), the clip at zero and
too little history."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np
import pytest

from services.ledger.analytics.projection import HORIZON_DAYS, project, t_quantile

# exact two-sided Student-t quantiles (tables): (confidence, degrees of freedom) -> t
T_TABLE = {("0.9", 5): 2.015048, ("0.9", 8): 1.859548, ("0.95", 12): 2.178813, ("0.99", 5): 4.032143,
           ("0.8", 26): 1.314972, ("0.95", 26): 2.055529}


@pytest.mark.parametrize(("confidence", "df"), list(T_TABLE))
def test_t_quantile_within_0_6_percent(confidence: str, df: int) -> None:
    exact = T_TABLE[(confidence, df)]
    assert abs(float(t_quantile(D(confidence), df)) - exact) / exact < 0.006


def test_an_exact_line_projects_exactly_with_no_spread() -> None:
    daily = [1_000_000 + 100_000 * t for t in range(10)]  # $1.00 rising $0.10 a day
    week = project(daily, HORIZON_DAYS["week"], D("0.9"))
    assert week is not None
    assert week.slope_micros_per_day == 100_000 and week.intercept_micros == 1_000_000
    # days 10..16: 7 x $1 + $0.10 x (10 + ... + 16) = $7 + $9.10
    assert week.expected_micros == week.low_micros == week.high_micros == 16_100_000
    day = project(daily, 1, D("0.9"))
    assert day is not None and day.expected_micros == 2_000_000
    year = project(daily, 365, D("0.9"))
    assert year is not None and year.expected_micros == 365 * 1_000_000 + 100_000 * sum(range(10, 375))


def test_noisy_line_matches_least_squares_and_the_t_interval() -> None:
    noise = [30_000, -20_000, 10_000, -40_000, 25_000, 0, -15_000, 35_000, -25_000, 5_000]
    daily = [2_000_000 + 50_000 * t + e for t, e in enumerate(noise)]
    got = project(daily, 7, D("0.9"))
    assert got is not None and got.points == 10
    b, a = np.polyfit(np.arange(10), np.array(daily, dtype=float), 1)
    assert abs(float(got.slope_micros_per_day) - b) < 1e-6 and abs(float(got.intercept_micros) - a) < 1e-4
    residuals = np.array(daily) - (a + b * np.arange(10))
    s = float(np.sqrt((residuals ** 2).sum() / 8))
    future = np.arange(10, 17)
    expected = float((a + b * future).sum())
    spread = 1.859548 * s * np.sqrt(7 + 49 / 10 + (future.sum() - 7 * 4.5) ** 2 / ((np.arange(10) - 4.5) ** 2).sum())
    assert abs(got.expected_micros - expected) <= 1
    assert abs((got.high_micros - got.expected_micros) - spread) / spread < 0.006
    assert abs((got.expected_micros - got.low_micros) - spread) / spread < 0.006
    assert got.low_micros < 14_000_000 + 50_000 * 91 < got.high_micros  # the true line's week lies inside


def test_a_wider_confidence_is_a_wider_interval_and_a_falling_trend_stops_at_zero() -> None:
    daily = [1_000_000, 1_100_000, 900_000, 1_050_000, 950_000, 1_020_000, 980_000, 1_000_000]
    narrow, wide = project(daily, 30, D("0.8")), project(daily, 30, D("0.99"))
    assert narrow is not None and wide is not None
    assert wide.low_micros < narrow.low_micros <= narrow.expected_micros == wide.expected_micros
    assert narrow.expected_micros <= narrow.high_micros < wide.high_micros
    falling = project([700_000 - 100_000 * t for t in range(7)], 30, D("0.9"))
    assert falling is not None and falling.expected_micros == falling.low_micros == falling.high_micros == 0


def test_fewer_than_seven_days_is_no_projection() -> None:
    assert project([1_000_000] * 6, 7, D("0.9")) is None
    flat = project([1_000_000] * 7, 7, D("0.9"))
    assert flat is not None and flat.expected_micros == 7_000_000 and flat.low_micros == 7_000_000
