"""A budget's terms besides its amount: its period, the time zone of its calendar and its
threshold percentages; read from a POST /budget body (a 400 naming the bad field) or a stored row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from services.common.errors import InvalidRequest
from services.ledger.budgets.levels import THRESHOLDS
from services.ledger.budgets.periods import ONCE, PERIODS, Window, window, zone

MAX_THRESHOLDS = 10


@dataclass(frozen=True)
class BudgetTerms:
    period: str = ONCE
    tz: str | None = None  # a periodic budget's IANA zone; None for a one-off budget
    thresholds: tuple[int, ...] = THRESHOLDS

    @property
    def periodic(self) -> bool:
        return self.period != ONCE

    @property
    def zone(self) -> ZoneInfo:
        found = zone(self.tz or "UTC")
        assert found is not None, "terms are checked before they are stored"
        return found

    def window(self, at_us: int) -> Window | None:
        """The period `at_us` falls in; None for a one-off budget (it never resets)."""
        return window(self.period, self.zone, at_us) if self.periodic else None

    def period_key(self, at_us: int) -> int:
        """What a threshold event is recorded under: its period's start, 0 for a one-off budget."""
        found = self.window(at_us)
        return found.start_us if found is not None else 0


ONE_OFF = BudgetTerms()


def thresholds_of(value: Any, field: str = "thresholds") -> tuple[int, ...]:
    """1 to 10 whole percentages from 1 to 100, strictly increasing."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_THRESHOLDS:
        raise InvalidRequest(f"{field} must be a list of 1 to {MAX_THRESHOLDS} percentages, e.g. [75, 90, 100]",
                             field=field)
    for i, t in enumerate(value):
        if type(t) is not int or not 1 <= t <= 100:
            raise InvalidRequest(f"{field}.{i} must be a whole percentage from 1 to 100", field=f"{field}.{i}")
        if i and t <= value[i - 1]:
            raise InvalidRequest(f"{field} must be in increasing order without repeats ({value[i - 1]} then {t})",
                                 field=f"{field}.{i}")
    return tuple(value)


def terms_of(data: dict[str, Any], default_tz: str) -> BudgetTerms:
    """The terms a POST /budget asks for (every one optional); a 400 naming the first bad one."""
    period = data.get("period", ONCE)
    if period not in PERIODS:
        raise InvalidRequest(f"period must be one of {', '.join(PERIODS)}", field="period")
    tz = data.get("tz")
    if tz is not None and (not isinstance(tz, str) or zone(tz) is None):
        raise InvalidRequest(f"tz {str(tz)[:64]!r} is not an IANA time zone (e.g. Europe/Berlin, UTC)", field="tz")
    if tz is not None and period == ONCE:
        raise InvalidRequest("tz applies to a daily, weekly or monthly budget; this one has no period", field="tz")
    thresholds = thresholds_of(data["thresholds"]) if "thresholds" in data else THRESHOLDS
    return BudgetTerms(period, (tz or default_tz) if period != ONCE else None, thresholds)
