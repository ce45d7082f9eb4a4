"""Time as the limits count it: integer microseconds since the Unix epoch (UTC), and UTC days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.common.clock import Clock

US = 1_000_000
DAY_US = 86_400 * US
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def to_us(at: datetime) -> int:
    """Exact: datetimes carry microseconds. A naive datetime is taken as UTC."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (at - EPOCH) // _ONE_US


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
