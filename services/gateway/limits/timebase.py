"""Time as the limits count it: integer microseconds since the Unix epoch (UTC), and UTC days."""

from __future__ import annotations

from datetime import date, timedelta

from services.common.clock import EPOCH, Clock, to_us

__all__ = ["DAY_US", "US", "day_of", "now_us", "to_us"]

US = 1_000_000
DAY_US = 86_400 * US


def now_us(clock: Clock) -> int:
    return to_us(clock.now())


def day_of(at_us: int) -> date:
    """The UTC day an instant falls on (violations are counted per day)."""
    return (EPOCH + timedelta(microseconds=at_us - at_us % DAY_US)).date()


def day_number(day: date) -> int:
    return (day - EPOCH.date()).days


def ceil_seconds(us: int) -> int:
    """Whole seconds, rounded up (HTTP's Retry-After and reset are delta-seconds)."""
    return -(-us // US)
