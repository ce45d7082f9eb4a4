"""Spend anomaly against a seasonal baseline: the spend of the rule's window now, scored against
the spend of the same window at the same time of day on each of the previous N days.

    score = (now - median) / max(1.4826 * MAD, 10 % of the median, $0.01)

median and MAD (median absolute deviation) of those N days; 1.4826 * MAD estimates a standard
deviation robustly (a past spike does not drag the baseline), so a rule `spend_anomaly > 3` fires
at about "three sigma above normal". The floors keep a flat, tiny baseline from turning cents
into alarms. Fewer than MIN_DAYS days with history: no score (the rule neither fires nor resolves
on it).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from statistics import median

MIN_DAYS = 3
SIGMA_PER_MAD = Decimal("1.4826")
RELATIVE_FLOOR = Decimal("0.1")
ABSOLUTE_FLOOR = Decimal("0.01")  # dollars
DAY_US = 86_400 * 1_000_000


def baseline(history: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """(median, MAD) of the history."""
    mid = median(history)
    return mid, median(abs(x - mid) for x in history)


def score(current: Decimal, history: Sequence[Decimal]) -> Decimal | None:
    if len(history) < MIN_DAYS:
        return None
    mid, mad = baseline(history)
    spread = max(SIGMA_PER_MAD * mad, RELATIVE_FLOOR * mid, ABSOLUTE_FLOOR)
    return ((current - mid) / spread).quantize(Decimal("0.001"))


def same_time_windows(first_us: int, last_us: int, days: int) -> list[tuple[int, int]]:
    """[first, last) moved back by 1..days days."""
    return [(first_us - d * DAY_US, last_us - d * DAY_US) for d in range(1, days + 1)]
