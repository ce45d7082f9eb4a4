"""Runway: when a budget runs out at its current burn rate.

The burn rate is the budget's spend over a trailing window divided by the window's length, for two
windows: the last hour and the last day. Spend is kept in 15-minute buckets, so each window starts
at the bucket holding `now - 1 h` (or `now - 24 h`) and is up to 15 minutes longer than its name;
the rate divides by its true length. What runs out is the budget minus its spend (money held by
requests in flight is not burnt yet). A periodic budget that the rate would not exhaust before its
period ends says so (`resets_first`), and a rate of zero never runs out (`runs_out_at` null).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from services.common.money import from_micros
from services.ledger.budgets.model import BudgetState, Burn
from services.ledger.budgets.periods import bucket_of
from services.ledger.times import US_PER_S, iso

HOUR_US = 3600 * US_PER_S
DAY_US = 24 * HOUR_US
WINDOWS = (("last_hour", HOUR_US), ("last_day", DAY_US))


def since(now_us: int, length_us: int) -> int:
    """Where a trailing window of `length_us` starts: the bucket holding now - length."""
    return bucket_of(now_us - length_us)


def _one(state: BudgetState, spent_in_window: int, since_us: int, now_us: int) -> dict[str, Any]:
    length_us = max(now_us - since_us, 1)
    per_hour = (Decimal(spent_in_window) * HOUR_US / length_us).quantize(Decimal(1), ROUND_HALF_EVEN)
    left = state.budget_micros - state.spent_micros
    body: dict[str, Any] = {"since": iso(since_us), "spent_usd": from_micros(spent_in_window),
                            "burn_usd_per_hour": from_micros(int(per_hour))}
    if left <= 0:
        out_us: int | None = now_us
    elif spent_in_window == 0:
        out_us = None
    else:
        out_us = now_us + left * length_us // spent_in_window
    body["runs_out_at"] = iso(out_us) if out_us is not None else None
    body["seconds_left"] = None if out_us is None else round((out_us - now_us) / US_PER_S, 3)
    window = state.window
    body["resets_first"] = window is not None and (out_us is None or out_us >= window.end_us)
    return body


def runway_body(state: BudgetState, burn: Burn) -> dict[str, Any]:
    return {"last_hour": _one(state, burn.hour_micros, burn.hour_since_us, burn.now_us),
            "last_day": _one(state, burn.day_micros, burn.day_since_us, burn.now_us)}
