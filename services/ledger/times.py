"""Instants as integer microseconds since the Unix epoch (UTC): how the ledger stores time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.common.clock import utc_iso

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US_PER_S = 1_000_000


def to_us(at: datetime) -> int:
    delta = at.astimezone(UTC) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * US_PER_S + delta.microseconds


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def iso(us: int) -> str:
    """RFC 3339 UTC with milliseconds, as everywhere in Tollway."""
    return utc_iso(from_us(us))
