"""Budget periods on the calendar of a time zone: DST days of 23 and 25 hours, month ends, weeks
from Monday, zones half an hour off UTC, a midnight a DST change skips; terms and thresholds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.common.errors import InvalidRequest
from services.ledger.budgets.config import BudgetTerms, terms_of
from services.ledger.budgets.levels import level, level_at
from services.ledger.budgets.periods import BUCKET_US, window, windows_back, zone
from services.ledger.times import iso, to_us

BERLIN = zone("Europe/Berlin")


def at(text: str) -> int:
    return to_us(datetime.fromisoformat(text).astimezone(UTC))


def bounds(period: str, tz: str, when: str) -> tuple[str, str]:
    found = zone(tz)
    assert found is not None
    w = window(period, found, at(when))
    return iso(w.start_us), iso(w.end_us)


def test_a_day_across_spring_forward_is_23_hours_and_across_fall_back_25():
    assert bounds("daily", "Europe/Berlin", "2026-03-29T12:00:00+00:00") == (
        "2026-03-28T23:00:00.000Z", "2026-03-29T22:00:00.000Z")
    assert bounds("daily", "Europe/Berlin", "2026-10-25T12:00:00+00:00") == (
        "2026-10-24T22:00:00.000Z", "2026-10-25T23:00:00.000Z")


def test_the_instant_of_local_midnight_starts_the_next_day():
    assert bounds("daily", "Europe/Berlin", "2026-03-28T22:59:59+00:00")[1] == "2026-03-28T23:00:00.000Z"
    assert bounds("daily", "Europe/Berlin", "2026-03-28T23:00:00+00:00")[0] == "2026-03-28T23:00:00.000Z"


def test_months_end_on_local_month_ends():
    assert bounds("monthly", "America/New_York", "2026-02-01T04:59:59+00:00") == (
        "2026-01-01T05:00:00.000Z", "2026-02-01T05:00:00.000Z")
    assert bounds("monthly", "America/New_York", "2026-02-01T05:00:00+00:00") == (
        "2026-02-01T05:00:00.000Z", "2026-03-01T05:00:00.000Z")
    # December into January, and a month holding a DST change (743 hours)
    assert bounds("monthly", "UTC", "2026-12-31T23:59:59+00:00") == ("2026-12-01T00:00:00.000Z",
                                                                     "2027-01-01T00:00:00.000Z")
    start, end = bounds("monthly", "Europe/Berlin", "2026-03-15T00:00:00+00:00")
    assert (at(end.replace("Z", "+00:00")) - at(start.replace("Z", "+00:00"))) // 3_600_000_000 == 743


def test_weeks_start_on_monday():
    # Sunday 2026-11-29 in Tokyo is still the week of Monday 2026-11-23
    assert bounds("weekly", "Asia/Tokyo", "2026-11-29T14:00:00+00:00") == (
        "2026-11-22T15:00:00.000Z", "2026-11-29T15:00:00.000Z")


def test_a_zone_half_an_hour_off_utc_starts_on_a_bucket():
    start, _ = bounds("daily", "Asia/Kolkata", "2026-06-01T12:00:00+00:00")
    assert start == "2026-05-31T18:30:00.000Z"
    assert at(start.replace("Z", "+00:00")) % BUCKET_US == 0


def test_a_midnight_that_dst_skips_starts_the_day_at_one():
    # Sao Paulo moved its clocks from 00:00 to 01:00 on 2018-11-04
    assert bounds("daily", "America/Sao_Paulo", "2018-11-04T15:00:00+00:00")[0] == "2018-11-04T03:00:00.000Z"


def test_history_goes_back_period_by_period():
    assert BERLIN is not None
    starts = [iso(w.start_us) for w in windows_back("monthly", BERLIN, at("2026-03-10T00:00:00+00:00"), 3)]
    assert starts == ["2026-02-28T23:00:00.000Z", "2026-01-31T23:00:00.000Z", "2025-12-31T23:00:00.000Z"]


def test_terms_default_and_named_errors():
    assert terms_of({}, "UTC") == BudgetTerms()
    assert terms_of({"period": "daily"}, "Europe/Paris") == BudgetTerms("daily", "Europe/Paris")
    assert terms_of({"period": "weekly", "tz": "Asia/Tokyo", "thresholds": [50, 100]}, "UTC").thresholds == (50, 100)
    for data, field in (({"period": "hourly"}, "period"), ({"period": "daily", "tz": "Mars/Olympus"}, "tz"),
                        ({"period": "daily", "tz": "../../etc/passwd"}, "tz"), ({"tz": "UTC"}, "tz"),
                        ({"thresholds": [90, 75]}, "thresholds.1"), ({"thresholds": [75, 75]}, "thresholds.1"),
                        ({"thresholds": [0, 50]}, "thresholds.0"), ({"thresholds": [50, 101]}, "thresholds.1"),
                        ({"thresholds": [50.5]}, "thresholds.0"), ({"thresholds": []}, "thresholds"),
                        ({"thresholds": "75,90"}, "thresholds"), ({"thresholds": list(range(1, 12))}, "thresholds")):
        with pytest.raises(InvalidRequest) as caught:
            terms_of(data, "UTC")
        assert caught.value.field == field, data


def test_levels_follow_a_budgets_own_thresholds():
    assert [level_at(t) for t in (75, 90, 100)] == ["caution", "warning", "critical"]
    assert [level_at(t, (50, 80)) for t in (50, 80)] == ["caution", "warning"]
    assert level(79, 100, (50, 80)) == "caution" and level(100, 100, (50, 80)) == "warning"
    assert level(60, 100, (60,)) == "warning" and level(59, 100, (60,)) == "ok"
