"""Budget periods: one-off, or daily / weekly (from Monday) / monthly on the calendar of a time zone.

A periodic budget's spend is what its receipts cost from the start of the period its `now` falls
in: periods are found from the instant (a period key, its start), never by a timer that could be
missed, so spend "resets" at 00:00 local time however long the ledger was down. Local midnight is
found with zoneinfo, so a day of 23 or 25 hours across a DST change is one day. Spend is kept in
UTC buckets of 15 minutes (`BUCKET_US`), and every zone's midnight falls on a quarter hour, so a
period is a whole number of buckets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.ledger.times import from_us, to_us

ONCE = "once"
PERIODS = (ONCE, "daily", "weekly", "monthly")
BUCKET_US = 15 * 60 * 1_000_000


def bucket_of(ts_us: int) -> int:
    """The start of the 15-minute UTC bucket an instant falls in."""
    return ts_us - ts_us % BUCKET_US


def zone(name: str) -> ZoneInfo | None:
    """The IANA zone `name`, or None when there is no such zone."""
    if not name or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True)
class Window:
    """One period: [start_us, end_us)."""

    start_us: int
    end_us: int


def _first_day(period: str, day: date) -> date:
    if period == "weekly":
        return day - timedelta(days=day.weekday())
    if period == "monthly":
        return day.replace(day=1)
    return day


def _next_first_day(period: str, first: date) -> date:
    if period == "weekly":
        return first + timedelta(days=7)
    if period == "monthly":
        return date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first + timedelta(days=1)


def _previous_first_day(period: str, first: date) -> date:
    return _first_day(period, first - timedelta(days=1))


def _midnight_us(day: date, tz: ZoneInfo) -> int:
    """The instant local midnight starts `day` in `tz` (a midnight a DST change skips: the first
    instant of that day)."""
    local = datetime(day.year, day.month, day.day, tzinfo=tz)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).date() != day:  # midnight did not exist: the day starts an hour later
        instant = datetime(day.year, day.month, day.day, 1, tzinfo=tz).astimezone(UTC)
    return bucket_of(to_us(instant))


def window(period: str, tz: ZoneInfo, at_us: int) -> Window:
    """The period of `period` in `tz` that the instant `at_us` falls in."""
    first = _first_day(period, from_us(at_us).astimezone(tz).date())
    return Window(_midnight_us(first, tz), _midnight_us(_next_first_day(period, first), tz))


def windows_back(period: str, tz: ZoneInfo, at_us: int, count: int) -> Iterator[Window]:
    """The period `at_us` falls in, then the `count` - 1 before it, newest first."""
    first = _first_day(period, from_us(at_us).astimezone(tz).date())
    for _ in range(count):
        yield Window(_midnight_us(first, tz), _midnight_us(_next_first_day(period, first), tz))
        first = _previous_first_day(period, first)
