"""Series and breakdown parameters: defaults, rounding, and a 400 naming each bad field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.common.errors import InvalidRequest
from services.ledger.analytics.retention import Retention
from services.ledger.analytics.spec import parse_breakdown, parse_series
from services.ledger.times import iso, to_us

NOW = to_us(datetime(2026, 11, 23, 10, 30, 15, tzinfo=UTC))


def test_defaults_and_rounding() -> None:
    spec = parse_series({}, NOW)
    assert spec.grain == "hour" and iso(spec.until_us) == "2026-11-23T10:30:15.000Z"
    assert iso(spec.since_us) == "2026-11-22T10:00:00.000Z"  # 24 h back, rounded down to its hour
    spec = parse_series({"grain": "month", "since": "2026-03-15T12:00:00Z", "group_by": "provider,tag,provider",
                         "team": "ml,infra", "tag": "env:ci,env:prod"}, NOW)
    assert iso(spec.since_us) == "2026-03-01T00:00:00.000Z"
    assert spec.group_by == ("provider", "tag") and spec.filters == {"team": ("ml", "infra"),
                                                                       "tag": ("env:ci", "env:prod")}


def test_breakdown_reads_the_finest_grain_still_kept() -> None:
    keep = Retention()
    assert parse_breakdown({"since": "2026-11-23T10:00:00Z"}, NOW, keep).grain == "minute"
    assert parse_breakdown({"since": "2026-11-01T10:00:00Z"}, NOW, keep).grain == "hour"
    assert parse_breakdown({"since": "2026-01-01T00:00:00Z"}, NOW, keep).grain == "day"
    assert parse_breakdown({"since": "2026-11-23T10:00:00Z", "grain": "day"}, NOW, keep).grain == "day"


@pytest.mark.parametrize(("params", "field"), [
    ({"grain": "fortnight"}, "grain"),
    ({"since": "yesterday"}, "since"),
    ({"until": "2026-13-01T00:00:00Z"}, "until"),
    ({"since": "2026-11-23T11:00:00Z"}, "since"),  # after until (now)
    ({"group_by": "provider,colour"}, "group_by"),
    ({"group_by": "provider,"}, "group_by"),
    ({"team": ""}, "team"),
    ({"tag": "a:1,b:2"}, "tag"),  # two tags without group_by=tag would count a receipt twice
    ({"tz": "Mars/Olympus"}, "tz"),
    ({"provder": "x"}, "provder"),
    ({"grain": "minute", "since": "2026-01-01T00:00:00Z"}, "since"),  # too many buckets
])
def test_bad_fields_are_named(params: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_series(params, NOW)
    assert caught.value.field == field


def test_breakdown_refuses_a_query_grain() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_breakdown({"grain": "week"}, NOW, Retention())
    assert caught.value.field == "grain"
