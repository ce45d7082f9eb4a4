"""Bucket math: a timestamp's bucket start, the buckets of each window, retention, the report."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.clock import FrozenClock
from services.common.errors import InvalidRequest
from services.ledger.times import from_us, iso, to_us
from services.ledger.windows.buckets import GRAINS, grain
from services.ledger.windows.report import cost_per_request, metrics_body
from services.ledger.windows.rollup import Tally

CLOCK = FrozenClock(datetime(2026, 11, 23, 10, 30, 15, 250_000, tzinfo=UTC))


def at(text: str) -> int:
    return to_us(datetime.fromisoformat(text.replace("Z", "+00:00")))


def test_bucket_start_of_a_timestamp() -> None:
    now = to_us(CLOCK.now())
    assert iso(GRAINS["minute"].start_of(now)) == "2026-11-23T10:30:00.000Z"
    assert iso(GRAINS["hour"].start_of(now)) == "2026-11-23T10:00:00.000Z"
    assert iso(GRAINS["day"].start_of(now)) == "2026-11-23T00:00:00.000Z"
    assert GRAINS["minute"].start_of(at("2026-11-23T10:29:59.999999Z")) == at(
        "2026-11-23T10:29:00Z")


@pytest.mark.parametrize(("window", "first", "last", "count"), [
    ("minute", "2026-11-23T09:31:00.000Z", "2026-11-23T10:30:00.000Z", 60),
    ("hour", "2026-11-22T11:00:00.000Z", "2026-11-23T10:00:00.000Z", 24),
    ("day", "2026-11-17T00:00:00.000Z", "2026-11-23T00:00:00.000Z", 7),
])
def test_which_buckets_a_window_covers(window: str, first: str, last: str, count: int) -> None:
    g = grain(window)
    starts = g.starts(to_us(CLOCK.now()))
    assert (len(starts), iso(starts[0]), iso(starts[-1])) == (count, first, last)
    assert all(b - a == g.size_us for a, b in zip(starts, starts[1:], strict=False))
    assert g.cutoff(to_us(CLOCK.now())) == starts[0]


def test_an_unknown_window_is_refused() -> None:
    with pytest.raises(InvalidRequest) as info:
        grain("week")
    assert info.value.field == "window"


@given(ts=st.integers(min_value=0, max_value=2**52), name=st.sampled_from(sorted(GRAINS)))
def test_a_timestamp_lies_in_exactly_its_bucket(ts: int, name: str) -> None:
    g = GRAINS[name]
    start = g.start_of(ts)
    assert start <= ts < start + g.size_us
    assert start % g.size_us == 0
    assert ts in range(g.starts(ts)[-1], g.starts(ts)[-1] + g.size_us)


def test_times_round_trip_through_microseconds() -> None:
    assert from_us(to_us(CLOCK.now())) == CLOCK.now()


def test_cost_per_request_is_rounded_half_even_to_the_microdollar() -> None:
    assert cost_per_request(Tally(1, 2, 0, 0)) == 0  # 0.0000005 -> 0.000000
    assert str(cost_per_request(Tally(3, 2, 0, 0))) == "0.000002"  # 0.0000015 -> 0.000002
    assert str(cost_per_request(Tally(1_000_000, 3, 0, 0))) == "0.333333"
    assert str(cost_per_request(Tally(0, 0, 0, 0))) == "0.000000"


def test_report_fills_empty_buckets_and_ignores_rows_outside_the_window() -> None:
    g = grain("minute")
    now = to_us(CLOCK.now())
    starts = g.starts(now)
    rows = [(starts[-1], "b", Tally(2, 1, 3, 4)), (starts[-1], "a", Tally(1, 1, 1, 1)),
            (starts[0] - g.size_us, "a", Tally(100, 1, 1, 1))]
    body = metrics_body(g, now, rows)
    assert [b["requests"] for b in body["buckets"]] == [0] * 59 + [2]
    assert body["totals"]["cost_usd"] == body["buckets"][-1]["cost_usd"]
    assert str(body["totals"]["cost_usd"]) == "0.000003"
    assert list(body["by_provider"]) == ["a", "b"]
    assert body["by_provider"]["a"]["requests"] == 1
