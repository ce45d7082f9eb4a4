"""Query buckets: minute/hour/day in UTC, weeks from Monday and months from the 1st, in UTC or in
a time zone (across a daylight-saving change)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from services.ledger.analytics.calendar import bucket_start, source_grain
from services.ledger.times import iso, to_us


def at(text: str) -> int:
    return to_us(datetime.fromisoformat(text))


def test_utc_buckets() -> None:
    ts = at("2026-11-25T13:47:12.5+00:00")  # a Wednesday
    assert iso(bucket_start(ts, "minute", UTC)) == "2026-11-25T13:47:00.000Z"
    assert iso(bucket_start(ts, "hour", UTC)) == "2026-11-25T13:00:00.000Z"
    assert iso(bucket_start(ts, "day", UTC)) == "2026-11-25T00:00:00.000Z"
    assert iso(bucket_start(ts, "week", UTC)) == "2026-11-23T00:00:00.000Z"
    assert iso(bucket_start(ts, "month", UTC)) == "2026-11-01T00:00:00.000Z"
    assert iso(bucket_start(at("2026-11-23T00:00:00+00:00"), "week", UTC)) == "2026-11-23T00:00:00.000Z"
    assert iso(bucket_start(at("2026-11-22T23:59:59.999+00:00"), "week", UTC)) == "2026-11-16T00:00:00.000Z"


def test_buckets_in_a_time_zone_start_at_local_midnight() -> None:
    ny = ZoneInfo("America/New_York")
    # 03:00Z on Dec 1st is still Nov 30th in New York (UTC-5)
    ts = at("2026-12-01T03:00:00+00:00")
    assert iso(bucket_start(ts, "day", ny)) == "2026-11-30T05:00:00.000Z"
    assert iso(bucket_start(ts, "month", ny)) == "2026-11-01T04:00:00.000Z"  # Nov 1st: still EDT (UTC-4)
    assert iso(bucket_start(ts, "week", ny)) == "2026-11-30T05:00:00.000Z"  # Monday Nov 30th
    tokyo = ZoneInfo("Asia/Tokyo")
    assert iso(bucket_start(ts, "day", tokyo)) == "2026-11-30T15:00:00.000Z"


def test_which_stored_grain_a_query_reads() -> None:
    assert [source_grain(g, UTC) for g in ("minute", "hour", "day", "week", "month")] == \
        ["minute", "hour", "day", "day", "day"]
    paris = ZoneInfo("Europe/Paris")
    assert [source_grain(g, paris) for g in ("day", "week", "month")] == ["hour", "hour", "hour"]
