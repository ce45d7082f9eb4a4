"""Instants as integer microseconds since the Unix epoch (UTC): how the ledger stores time.

What the ledger accepts is narrower than what it can read back: an instant given to it (an
expiry) must fall before LATEST (9000-01-01T00:00:00Z) and a duration (`expires_in_s`) be at most
MAX_DURATION_S (100 years); a stored instant is read back when Python's datetime can show it
(years 1 to 9999), anything else is an unreadable row (see services/ledger/store/rows.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.common.clock import EPOCH, parse_utc, to_us, utc_iso
from services.common.errors import InvalidRequest

__all__ = ["EPOCH", "LATEST", "MAX_DURATION_S", "US_PER_S", "from_us", "future_us", "iso", "later_us",
           "readable_us", "to_us"]

US_PER_S = 1_000_000
LATEST = datetime(9000, 1, 1, tzinfo=UTC)  # no instant given to the ledger may be at or after it
LATEST_US = to_us(LATEST)
MAX_DURATION_S = 100 * 365 * 86_400  # the longest duration accepted: 100 years, 3,153,600,000 s
_FIRST_US = to_us(datetime.min.replace(tzinfo=UTC))
_LAST_US = to_us(datetime.max.replace(tzinfo=UTC))


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def iso(us: int) -> str:
    """RFC 3339 UTC with milliseconds, as everywhere in Tollway."""
    return utc_iso(from_us(us))


def readable_us(value: object) -> bool:
    """Whether a stored value is an instant the ledger can show (an integer, years 1 to 9999)."""
    return type(value) is int and _FIRST_US <= value <= _LAST_US


def _before_latest(at_us: int, field: str) -> int:
    if at_us >= LATEST_US:
        raise InvalidRequest(f"{field} must be before {utc_iso(LATEST)}", field=field)
    return at_us


def future_us(text: str, field: str, now_us: int) -> int:
    """An expiry given as a UTC instant: refused (400, naming `field`) unless valid, after now and
    before LATEST."""
    try:
        at = to_us(parse_utc(text))
    except (ValueError, OverflowError):
        raise InvalidRequest(f"{field} {text[:64]!r} is not a valid UTC instant", field=field) from None
    if at <= now_us:
        raise InvalidRequest(f"{field} is in the past", field=field)
    return _before_latest(at, field)


def later_us(seconds: object, field: str, now_us: int) -> int:
    """`seconds` (a whole number, 1 to MAX_DURATION_S) after now: refused (400, naming `field`)
    otherwise, or when that is not before LATEST."""
    number = isinstance(seconds, int | float) and not isinstance(seconds, bool)
    if not (number and 1 <= seconds <= MAX_DURATION_S and float(seconds).is_integer()):  # type: ignore[operator]
        raise InvalidRequest(f"{field} must be a whole number of seconds from 1 to {MAX_DURATION_S}"
                             f" (100 years)", field=field)
    return _before_latest(now_us + int(seconds) * US_PER_S, field)  # type: ignore[arg-type]
