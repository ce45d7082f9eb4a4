"""Bucket arithmetic in UTC: a timestamp's bucket, and the buckets a window covers.

minute = the last 60 one-minute buckets, hour = the last 24 hourly, day = the last 7 daily,
each window ending with the bucket that holds `now` (so the current, partial bucket is in it).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.errors import InvalidRequest
from services.ledger.times import US_PER_S


@dataclass(frozen=True)
class Grain:
    name: str
    size_us: int
    count: int

    def start_of(self, ts_us: int) -> int:
        """Start of the bucket holding `ts_us` (UTC-aligned: epoch is a midnight)."""
        return ts_us - ts_us % self.size_us

    def starts(self, now_us: int) -> list[int]:
        """Starts of the window's buckets, oldest first, the last holding `now_us`."""
        last = self.start_of(now_us)
        return [last - i * self.size_us for i in range(self.count - 1, -1, -1)]

    def cutoff(self, now_us: int) -> int:
        """Oldest bucket start still in the window: older rollups are past retention."""
        return self.start_of(now_us) - (self.count - 1) * self.size_us


GRAINS = {
    "minute": Grain("minute", 60 * US_PER_S, 60),
    "hour": Grain("hour", 3_600 * US_PER_S, 24),
    "day": Grain("day", 86_400 * US_PER_S, 7),
}


def grain(window: str) -> Grain:
    try:
        return GRAINS[window]
    except KeyError:
        raise InvalidRequest(f"window must be one of {', '.join(GRAINS)}, not {window!r}",
                             field="window") from None
