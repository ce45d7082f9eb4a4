"""Spend projections: a straight-line trend through daily spend, summed over the horizon, with a
prediction interval.

Method (docs/analytics.md): the daily spend y_t (microdollars; t = 0..n-1, the complete days before
the projection starts, from the first day with receipts, a day without receipts being 0) is fitted by
ordinary least squares, y = a + b t. The projected spend of the next H days (t = n..n+H-1) is

    S = sum(a + b t)   (never below 0)

and its prediction interval, for a sum of H new days each with the residual variance s^2, is

    S +/- q * s * sqrt(H + H^2/n + (sum(t) - H * mean_t)^2 / Sxx)

with q the two-sided Student-t quantile of the confidence level with n - 2 degrees of freedom
(Cornish-Fisher expansion of the normal quantile: within 0.6 % of the exact t for a confidence up
to 0.99 from 5 degrees of freedom on, hence at least MIN_POINTS = 7 days), s^2 = sum of squared
residuals / (n - 2), Sxx = sum((t - mean_t)^2). The lower bound is clipped at 0. All arithmetic is
Decimal; amounts are rounded half-even to the microdollar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from statistics import NormalDist

HORIZON_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
MIN_POINTS = 7  # a week: a line, a spread, and a t quantile within 0.6 %


@dataclass(frozen=True)
class Projection:
    horizon_days: int
    points: int  # days fitted
    intercept_micros: Decimal  # a: spend on the first fitted day, per the line
    slope_micros_per_day: Decimal  # b
    residual_sd_micros: Decimal  # s
    expected_micros: int
    low_micros: int
    high_micros: int
    confidence: Decimal


def t_quantile(confidence: Decimal, df: int) -> Decimal:
    """Two-sided Student-t quantile: P(|T| <= q) = confidence, by Cornish-Fisher from the normal."""
    z = NormalDist().inv_cdf(0.5 + float(confidence) / 2)
    v = float(df)
    q = (z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
         + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3))
    return Decimal(repr(round(q, 6)))


def _micros(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def project(daily_micros: Sequence[int], horizon_days: int, confidence: Decimal) -> Projection | None:
    """The projection of the next `horizon_days` days from these consecutive days; None with fewer
    than MIN_POINTS days."""
    n = len(daily_micros)
    if n < MIN_POINTS:
        return None
    ys = [Decimal(y) for y in daily_micros]
    ts = [Decimal(t) for t in range(n)]
    mean_t = sum(ts) / n
    mean_y = sum(ys) / n
    sxx = sum((t - mean_t) ** 2 for t in ts)
    slope = sum((t - mean_t) * (y - mean_y) for t, y in zip(ts, ys, strict=True)) / sxx
    intercept = mean_y - slope * mean_t
    rss = sum((y - intercept - slope * t) ** 2 for t, y in zip(ts, ys, strict=True))
    s = (rss / (n - 2)).sqrt()
    h = Decimal(horizon_days)
    future_t = sum(Decimal(t) for t in range(n, n + horizon_days))
    expected = h * intercept + slope * future_t
    spread = t_quantile(confidence, n - 2) * s * (h + h * h / n + (future_t - h * mean_t) ** 2 / sxx).sqrt()
    zero = Decimal(0)
    return Projection(horizon_days=horizon_days, points=n, intercept_micros=intercept, slope_micros_per_day=slope,
                      residual_sd_micros=s, expected_micros=_micros(max(expected, zero)),
                      low_micros=_micros(max(expected - spread, zero)),
                      high_micros=_micros(max(expected + spread, zero)), confidence=confidence)
