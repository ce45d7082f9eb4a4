"""Spikes against a seasonal baseline, for the spend-anomaly alert rule and GET /analytics/anomalies.

A value (the spend of a window, or the cost or error rate of an hour) is scored against the values
at the same place in each of the previous N seasons (the same time of day on the previous N days,
or the same hour of the same weekday on the previous N weeks):

    score = (value - median) / max(1.4826 * MAD, 10 % of the median, floor)

median and MAD (median absolute deviation) of those N values; 1.4826 * MAD estimates a standard
deviation robustly (a past spike does not drag the baseline), so `score > 3` reads "about three
sigma above normal". The floors keep a flat, tiny baseline from turning cents (or one failed call)
into alarms: $0.01 for spend, 0.01 (one percentage point) for an error rate. Fewer than MIN_DAYS
past values: no score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import median

MIN_DAYS = 3
SIGMA_PER_MAD = Decimal("1.4826")
RELATIVE_FLOOR = Decimal("0.1")
ABSOLUTE_FLOOR = Decimal("0.01")  # dollars (spend); also one percentage point of an error rate
DAY_US = 86_400 * 1_000_000


def baseline(history: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """(median, MAD) of the history."""
    mid = median(history)
    return mid, median(abs(x - mid) for x in history)


def score(current: Decimal, history: Sequence[Decimal], floor: Decimal = ABSOLUTE_FLOOR) -> Decimal | None:
    if len(history) < MIN_DAYS:
        return None
    mid, mad = baseline(history)
    spread = max(SIGMA_PER_MAD * mad, RELATIVE_FLOOR * mid, floor)
    return ((current - mid) / spread).quantize(Decimal("0.001"))


def same_time_windows(first_us: int, last_us: int, days: int) -> list[tuple[int, int]]:
    """[first, last) moved back by 1..days days."""
    return [(first_us - d * DAY_US, last_us - d * DAY_US) for d in range(1, days + 1)]


@dataclass(frozen=True)
class Spike:
    start_us: int  # the bucket's start
    value: Decimal
    median: Decimal  # of the baseline
    score: Decimal
    baseline_points: int  # how many past seasons had a value


def spikes(values: Mapping[int, Decimal], starts: Sequence[int], period_us: int, seasons: int,
           threshold: Decimal, floor: Decimal = ABSOLUTE_FLOOR) -> list[Spike]:
    """The buckets of `starts` (with a value) whose score against the same bucket in each of the
    previous `seasons` periods (those with a value) is above `threshold`, oldest first."""
    found = []
    for start in starts:
        value = values.get(start)
        if value is None:
            continue
        history = [v for k in range(1, seasons + 1) if (v := values.get(start - k * period_us)) is not None]
        s = score(value, history, floor)
        if s is not None and s > threshold:
            found.append(Spike(start, value, baseline(history)[0], s, len(history)))
    return found
