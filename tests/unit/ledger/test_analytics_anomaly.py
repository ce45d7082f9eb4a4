"""Spike detection on synthetic hourly series with a daily and a weekly season: injected spikes are
found (and only they), a clean seasonal series flags nothing, for cost and for error rate."""

from __future__ import annotations

from decimal import Decimal as D

from services.ledger.analytics.anomaly import DAY_US, spikes

HOUR = 3_600_000_000
DAYS = 28


def shape(hour: int) -> D:
    """Dollars per hour: quiet nights, a busy working day, a lunch dip."""
    return D([2, 1, 1, 1, 1, 2, 4, 8, 14, 18, 20, 19, 12, 18, 20, 19, 16, 12, 8, 6, 5, 4, 3, 2][hour])


def wobble(day: int, hour: int) -> D:
    """A deterministic +/- 8 % that differs from day to day."""
    return D(1) + D((day * 7 + hour * 13) % 17 - 8) / 100


def seasonal(weekly: bool = False) -> dict[int, D]:
    values = {}
    for day in range(DAYS):
        weekend = weekly and day % 7 in (5, 6)
        for hour in range(24):
            base = shape(hour) / 5 if weekend else shape(hour)
            values[(day * 24 + hour) * HOUR] = (base * wobble(day, hour)).quantize(D("0.000001"))
    return values


def last_week() -> list[int]:
    return [h * HOUR for h in range((DAYS - 7) * 24, DAYS * 24)]


def test_a_clean_daily_season_flags_nothing() -> None:
    assert spikes(seasonal(), last_week(), DAY_US, 7, D(3)) == []


def test_injected_spikes_are_found_and_only_they() -> None:
    values = seasonal()
    night = (23 * 24 + 3) * HOUR  # 03:00 on day 23: $1 is normal, $6 is not
    noon = (26 * 24 + 10) * HOUR  # 10:00 on day 26: $20 is normal, $45 is not
    values[night] = D(6)
    values[noon] = D(45)
    found = spikes(values, last_week(), DAY_US, 7, D(3))
    assert [s.start_us for s in found] == [night, noon]
    assert found[0].value == D(6) and found[0].baseline_points == 7
    assert abs(found[1].median - D(20)) < D(2) and found[1].score > D(3)


def test_a_busy_hour_of_the_day_is_not_a_spike_but_a_doubled_one_is() -> None:
    values = seasonal()
    starts = last_week()
    assert all(values[s] > D(10) for s in starts if (s // HOUR) % 24 == 10)  # busy every day: normal
    values[(27 * 24 + 10) * HOUR] *= 2
    assert [s.start_us for s in spikes(values, starts, DAY_US, 7, D(3))] == [(27 * 24 + 10) * HOUR]


def test_the_weekly_season_knows_weekends() -> None:
    values = seasonal(weekly=True)
    starts = last_week()
    # against the previous days, a Monday morning after a quiet weekend looks like a spike...
    assert spikes(values, starts, DAY_US, 3, D(3)) != []
    # ...against the same hour of the previous weeks it does not
    assert spikes(values, starts, 7 * DAY_US, 3, D(3)) == []


def test_error_rate_spike_against_a_small_steady_rate() -> None:
    rates = {(d * 24 + h) * HOUR: D("0.010") + D((d + h) % 3) / 1000 for d in range(DAYS) for h in range(24)}
    assert spikes(rates, last_week(), DAY_US, 7, D(3)) == []
    burst = (25 * 24 + 15) * HOUR
    rates[burst] = D("0.120")
    found = spikes(rates, last_week(), DAY_US, 7, D(3))
    assert [s.start_us for s in found] == [burst]


def test_too_little_history_is_no_score() -> None:
    values = {0: D(1), DAY_US: D(1), 2 * DAY_US: D(100)}
    assert spikes(values, [2 * DAY_US], DAY_US, 7, D(3)) == []  # two past days: below MIN_DAYS
