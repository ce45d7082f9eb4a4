"""Instants as integer microseconds since the Unix epoch (UTC): how the ledger stores time."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.common.clock import EPOCH, to_us, utc_iso

__all__ = ["EPOCH", "US_PER_S", "from_us", "iso", "to_us"]

US_PER_S = 1_000_000


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def iso(us: int) -> str:
    """RFC 3339 UTC with milliseconds, as everywhere in Tollway."""
    return utc_iso(from_us(us))
