"""The times a report may carry: a receipt's `timestamp` at the ledger, an outcome's `at` at the
router. A gateway ships receipts and outcomes late (days late, after an outage of the ledger or
the router), so only a time that cannot be right is refused, with a 400 naming the field:

- before 2020-01-01T00:00:00Z (EARLIEST), which no Tollway request can have been made;
- more than a day (AHEAD_S) ahead of the receiving service's clock, beyond any clock skew.

Year 1 or 9999 would otherwise be booked: into windows and rollups no query reaches, or into
latency statistics that never age out.
"""

from __future__ import annotations

from datetime import UTC, datetime

EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)
EARLIEST_S = EARLIEST.timestamp()
AHEAD_S = 86_400


def window_s(now_s: float) -> tuple[float, float]:
    """The first and last acceptable time, in seconds since the epoch, given the receiver's clock."""
    return EARLIEST_S, now_s + AHEAD_S


def refusal(seconds: float, now_s: float) -> str | None:
    """Why a report's time (seconds since the epoch) cannot be right, or None when it may be."""
    if seconds < EARLIEST_S:
        return "is before 2020-01-01T00:00:00Z"
    if seconds > now_s + AHEAD_S:
        return "is more than a day ahead of this service's clock"
    return None
