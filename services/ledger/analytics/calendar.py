"""Query buckets: minute and hour (UTC-aligned), day, week (Monday) and month (the 1st) in a time
zone, each bucket named by its start as a UTC instant.

Week and month buckets are built from stored rows: from day rows in UTC, from hour rows in any
other zone (an hour row lies inside one local day for every zone a whole number of hours from
UTC; in a zone with a 30- or 45-minute offset an hour row counts in the day its start falls in).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo

from services.ledger.analytics.rollup import STORED_GRAINS
from services.ledger.times import from_us, to_us

GRAINS = ("minute", "hour", "day", "week", "month")


def source_grain(grain: str, tz: tzinfo) -> str:
    """The stored grain a query grain is built from."""
    if grain in ("minute", "hour"):
        return grain
    return "day" if tz is UTC else "hour"


def bucket_start(ts_us: int, grain: str, tz: tzinfo) -> int:
    """Start (UTC instant, us) of the `grain` bucket holding `ts_us`, calendar-aligned in `tz`."""
    if grain in ("minute", "hour") or (grain == "day" and tz is UTC):
        width = STORED_GRAINS[grain]
        return ts_us - ts_us % width
    day = from_us(ts_us).astimezone(tz).date()
    if grain == "week":
        day -= timedelta(days=day.weekday())
    elif grain == "month":
        day = day.replace(day=1)
    return to_us(datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC))


class Bucketer:
    """bucket_start, remembered per stored bucket (a query maps many rows to few buckets)."""

    def __init__(self, grain: str, tz: tzinfo):
        self.grain, self.tz = grain, tz
        self._seen: dict[int, int] = {}

    def __call__(self, ts_us: int) -> int:
        start = self._seen.get(ts_us)
        if start is None:
            start = self._seen[ts_us] = bucket_start(ts_us, self.grain, self.tz)
        return start
