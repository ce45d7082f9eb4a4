"""Instants as integer microseconds since the Unix epoch (UTC): how the ledger stores time."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.common.clock import EPOCH, parse_utc, to_us, utc_iso
from services.common.errors import InvalidRequest

__all__ = ["EPOCH", "US_PER_S", "from_us", "future_us", "iso", "to_us"]

US_PER_S = 1_000_000


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def iso(us: int) -> str:
    """RFC 3339 UTC with milliseconds, as everywhere in Tollway."""
    return utc_iso(from_us(us))


def future_us(text: str, field: str, now_us: int) -> int:
    """An expiry given as a UTC instant: refused (400, naming `field`) unless valid and after now."""
    try:
        at = to_us(parse_utc(text))
    except ValueError:
        raise InvalidRequest(f"{field} {text!r} is not a valid UTC instant", field=field) from None
    if at <= now_us:
        raise InvalidRequest(f"{field} is in the past", field=field)
    return at
