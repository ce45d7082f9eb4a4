"""Alert metrics on synthetic data with known answers: the seasonal spend-anomaly score, which
rollups a window reads, the retry backoff, the webhook signature and the rule checks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.common.errors import InvalidRequest
from services.ledger.alerts.delivery import RetryPolicy
from services.ledger.alerts.rules import parse_rule
from services.ledger.alerts.signing import sign, verify
from services.ledger.alerts.source import SeriesMetrics
from services.ledger.analytics import anomaly

D = Decimal


def test_a_spike_over_a_flat_week_scores_against_the_floor() -> None:
    week = [D("10")] * 7
    # MAD 0: the spread is the 10 % floor of the median, $1; $13 is 3 spreads above
    assert anomaly.score(D("13"), week) == D("3.000")
    assert anomaly.score(D("10"), week) == D("0.000")


def test_the_score_is_in_robust_sigmas_and_a_past_spike_does_not_move_the_baseline() -> None:
    history = [D(x) for x in ("100", "104", "96", "102", "98", "100", "1000")]  # one past spike
    mid, mad = anomaly.baseline(history)
    assert (mid, mad) == (D("100"), D("2"))
    # spread = max(1.4826 * 2, 10, 0.01) = 10 (the relative floor wins)
    assert anomaly.score(D("130"), history) == D("3.000")
    wide = [D(x) for x in ("100", "140", "60", "120", "80")]  # MAD 20: 1.4826 * 20 = 29.652
    assert anomaly.score(D("159.304"), wide) == D("2.000")


def test_too_little_history_gives_no_score() -> None:
    assert anomaly.score(D("50"), [D("1"), D("1")]) is None
    assert anomaly.same_time_windows(10 * anomaly.DAY_US, 10 * anomaly.DAY_US + 5, 2) == [
        (9 * anomaly.DAY_US, 9 * anomaly.DAY_US + 5), (8 * anomaly.DAY_US, 8 * anomaly.DAY_US + 5)]


MINUTE, HOUR = 60_000_000, 3_600_000_000
NOW = 1_794_999_960 * 1_000_000 + 15_000_000  # 15 s past a minute


def test_a_recent_window_reads_minute_rollups_and_an_old_one_hour_rollups() -> None:
    source = SeriesMetrics(store=None, now_us=lambda: NOW, minute_retention_days=7)  # type: ignore[arg-type]
    # the last hour up to now: from the nearest minute, the current minute included
    assert source.buckets(NOW + 1 - HOUR, NOW + 1) == ("minute", NOW - 15_000_000 - HOUR, NOW + 1)
    assert source.buckets(NOW - 50_000_000 - HOUR, NOW) == ("minute", NOW - 75_000_000 - HOUR, NOW)
    # eight days back the minutes are gone: the hour rollups nearest to the window, at least one
    week = NOW - 8 * 86_400_000_000
    grain, since, until = source.buckets(week - HOUR, week)
    assert (grain, since % HOUR, until - since) == ("hour", 0, HOUR)
    assert abs(since - (week - HOUR)) <= HOUR // 2
    assert source.buckets(week - 2 * MINUTE, week)[2] - source.buckets(week - 2 * MINUTE, week)[1] == HOUR


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(attempts=8, base_s=30, cap_s=300, timeout_s=5)
    assert [policy.backoff_s(n) for n in range(1, 7)] == [30, 60, 120, 240, 300, 300]


def test_a_signature_verifies_only_for_its_body_secret_and_a_recent_timestamp() -> None:
    body = b'{"type":"alert.firing"}'
    signature = sign("s" * 20, 1_800_000_000, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify("s" * 20, "1800000000", signature, body, now_s=1_800_000_100)
    assert not verify("s" * 20, "1800000000", signature, body + b" ", now_s=1_800_000_100)
    assert not verify("t" * 20, "1800000000", signature, body, now_s=1_800_000_100)
    assert not verify("s" * 20, "1800000000", signature, body, now_s=1_800_000_301)  # a replay
    assert not verify("s" * 20, "soon", signature, body, now_s=1_800_000_000)


RULE = {"name": "n", "metric": "cost", "operator": ">", "threshold": "1", "window": "1h"}


@pytest.mark.parametrize(("change", "field"), [
    ({"window": "59s"}, "window"), ({"window": "31d"}, "window"), ({"threshold": "-1"}, "threshold"),
    ({"metric": "cache_hit_rate", "threshold": "1.5"}, "threshold"),
    ({"budget": {"scope": "run", "scope_id": "r"}}, "budget"),
    ({"metric": "budget_percent", "budget": {"scope": "run", "scope_id": "r"}, "filters": {"model": "m"}},
     "filters"),
    ({"threshold": 1e400}, "threshold"),
])
def test_a_rule_the_schema_allows_but_cannot_work_is_refused_naming_its_field(change: dict, field: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_rule({**RULE, **change})
    assert refused.value.field == field


def test_a_rule_reads_back_as_it_was_given() -> None:
    rule = parse_rule({**RULE, "threshold": D("0.25"), "filters": {"model": "gpt-4o"}, "severity": "info"})
    assert rule.window_s == 3600 and rule.breached(D("0.250001")) and not rule.breached(D("0.25"))
    again = parse_rule(rule.spec())
    assert again == rule
    assert rule.describe() == "n: cost > 0.25 over 1h (model=gpt-4o)"
