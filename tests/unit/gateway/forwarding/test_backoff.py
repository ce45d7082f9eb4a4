"""Backoff with full jitter stays inside its bounds and really jitters; Retry-After is read as
seconds or as an HTTP date, `retry-after-ms` first."""

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.gateway.forwarding.backoff import full_jitter, parse_retry_after, retry_after_s

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@given(retry=st.integers(0, 200), base=st.floats(0.001, 5), cap=st.floats(0.001, 60), seed=st.integers())
def test_a_backoff_is_between_zero_and_the_capped_exponential(retry, base, cap, seed):
    delay = full_jitter(retry, base, cap, random.Random(seed))
    assert 0 <= delay <= min(cap, base * 2 ** min(retry, 62))


def test_the_ceiling_doubles_per_retry_until_the_cap():
    rng = random.Random(7)
    ceilings = [max(full_jitter(n, 0.1, 1.0, rng) for _ in range(2000)) for n in range(6)]
    assert ceilings[0] <= 0.1 and ceilings[1] <= 0.2 and ceilings[2] <= 0.4 and ceilings[3] <= 0.8
    assert ceilings[0] > 0.09 and ceilings[2] > 0.38  # draws reach close to each ceiling
    assert all(0.95 < c <= 1.0 for c in ceilings[4:])  # capped


def test_full_jitter_spreads_the_waits_over_the_whole_range():
    rng = random.Random(1)
    draws = [full_jitter(3, 0.1, 10, rng) for _ in range(1000)]
    assert len(set(draws)) == 1000  # no two clients wait alike
    assert min(draws) < 0.08 and max(draws) > 0.72  # from near 0 to near the 0.8 ceiling
    assert 0.3 < sum(draws) / len(draws) < 0.5  # uniform: the mean is half the ceiling


def test_a_seeded_generator_gives_the_same_waits():
    assert [full_jitter(n, 0.1, 2, random.Random(5)) for n in range(5)] == \
        [full_jitter(n, 0.1, 2, random.Random(5)) for n in range(5)]


@pytest.mark.parametrize("value, seconds", [("3", 3.0), ("0", 0.0), (" 12 ", 12.0), ("1.5", 1.5)])
def test_retry_after_in_seconds(value, seconds):
    assert parse_retry_after(value, NOW) == seconds


def test_retry_after_as_an_http_date_is_the_time_until_then():
    assert parse_retry_after(format_datetime(NOW + timedelta(seconds=42), usegmt=True), NOW) == 42.0
    assert parse_retry_after("Sun, 01 Mar 2026 12:00:09 GMT", NOW) == 9.0


def test_a_date_in_the_past_means_now():
    assert parse_retry_after(format_datetime(NOW - timedelta(minutes=5), usegmt=True), NOW) == 0.0


@pytest.mark.parametrize("value", ["", "soon", "-1", "nan", "inf", "Sunday at noon"])
def test_a_value_that_is_neither_is_ignored(value):
    assert parse_retry_after(value, NOW) is None


def test_retry_after_ms_wins_over_retry_after():
    assert retry_after_s({"retry-after-ms": "250", "retry-after": "3"}, NOW) == 0.25
    assert retry_after_s({"retry-after-ms": "bogus", "retry-after": "3"}, NOW) == 3.0
    assert retry_after_s({"retry-after": "3"}, NOW) == 3.0
    assert retry_after_s({}, NOW) is None
