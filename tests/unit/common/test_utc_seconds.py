"""utc_seconds is parse_utc(text).timestamp() to the last bit, quick for utc_iso's own format and
parse_utc itself for every other one; what is no time is a ValueError either way."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.common import clock
from services.common.clock import parse_utc, quick_utc_seconds, utc_iso, utc_seconds


def reference(text: str) -> float:
    return parse_utc(text).timestamp()


def random_times(n: int, seed: int = 11) -> list[datetime]:
    rng = random.Random(seed)
    lo, hi = datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    span = int((hi - lo).total_seconds())
    return [lo + timedelta(seconds=rng.randrange(span), microseconds=rng.randrange(1_000_000)) for _ in range(n)]


EDGES = [datetime(1970, 1, 1, tzinfo=UTC), datetime(1999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
         datetime(2000, 2, 29, 12, tzinfo=UTC), datetime(2024, 2, 29, 23, 59, 59, 1000, tzinfo=UTC),
         datetime(2026, 11, 23, 10, 30, 15, 250000, tzinfo=UTC), datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC),
         datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)]


def test_the_gateways_format_is_read_quickly_and_exactly():
    times = random_times(5000) + EDGES
    for at in times:
        text = utc_iso(at)  # what the gateway writes: milliseconds and a Z
        assert len(text) == 24
        quick = quick_utc_seconds(text)
        assert quick is not None and quick == reference(text), text
        assert utc_seconds(text) == reference(text)


def test_every_millisecond_of_a_second_is_exact():
    for ms in range(1000):
        text = f"2026-11-23T10:30:15.{ms:03d}Z"
        assert quick_utc_seconds(text) == reference(text), text


def test_whole_seconds_are_quick_too():
    for at in random_times(500, seed=3) + EDGES:
        text = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert quick_utc_seconds(text) == reference(text), text


@pytest.mark.parametrize("text", [
    "2026-11-23T10:30:15.2Z", "2026-11-23T10:30:15.25Z", "2026-11-23T10:30:15.2501Z",
    "2026-11-23T10:30:15.250123Z", "2026-11-23T10:30:15.250123456Z",  # more than microseconds: cut, as parse_utc
    "2026-11-23T10:30:15.250+00:00", "2026-11-23T12:30:15.250+02:00", "2026-11-23T10:30:15.250",
    "2026-11-23T10:30:15", "2026-11-23 10:30:15.250Z", "2026-11-23", "20261123T103015Z",
    "2026-11-23T10:30:15,250Z",
])
def test_other_iso_forms_go_through_parse_utc(text: str):
    assert quick_utc_seconds(text) is None
    assert utc_seconds(text) == reference(text)


@pytest.mark.parametrize("text", [
    "2026-02-30T10:30:15.250Z", "2026-11-23T24:00:00.000Z", "2026-11-23T23:59:60Z", "2026-13-01T00:00:00Z",
    "0000-01-01T00:00:00.000Z", "2026-11-23T10:30:15.250Z\n", "٢٠٢٦-11-23T10:30:15.250Z", "yesterday", "",
    "2026-11-23T10:30:15.25xZ",
])
def test_what_is_no_time_is_refused_as_parse_utc_refuses_it(text: str):
    assert quick_utc_seconds(text) is None
    with pytest.raises(ValueError):
        parse_utc(text)
    with pytest.raises(ValueError):
        utc_seconds(text)


def test_the_cache_of_seconds_stays_bounded_and_right():
    times = random_times(3 * clock._WHOLE_KEPT, seed=5)
    for at in times:
        text = utc_iso(at)
        assert quick_utc_seconds(text) == reference(text)
        assert len(clock._WHOLE_MS) <= clock._WHOLE_KEPT
    for at in times[:50]:  # seconds seen before the cache was cleared: computed again, same answer
        assert quick_utc_seconds(utc_iso(at)) == reference(utc_iso(at))
