"""Limit specs (validation, custom quotas, expiry), and what a verdict tells the client."""

from __future__ import annotations

from datetime import UTC, datetime

import pydantic
import pytest

from services.common.errors import RateLimited
from services.gateway.limits import LimitSet, LimitSpec, Subject, Verdict, rate_limit_headers, rate_limited
from services.gateway.limits.decision import Decision, Hit
from services.gateway.limits.headers import most_restrictive
from services.gateway.limits.timebase import to_us

NOW = to_us(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))


def test_a_spec_comes_in_through_pydantic_and_is_checked():
    spec = pydantic.TypeAdapter(LimitSpec).validate_python(
        {"name": "key-tpm", "dimension": "key", "algorithm": "token_bucket", "limit": "60000",
         "unit": "tokens", "burst": 90000, "expires_at": "2026-12-01T00:00:00Z"})
    assert spec.capacity == 90000 and spec.expires_us == to_us(datetime(2026, 12, 1, tzinfo=UTC))
    with pytest.raises(pydantic.ValidationError):
        pydantic.TypeAdapter(LimitSpec).validate_python({"name": "x", "dimension": "tenant",
                                                         "algorithm": "fixed_window", "limit": 1})


@pytest.mark.parametrize("bad", [
    {"name": "has space"}, {"limit": 0}, {"window_s": 0},
    {"algorithm": "fixed_window", "window_s": 7},  # does not divide a day
    {"algorithm": "fixed_window", "burst": 5},  # burst is a bucket's
    {"algorithm": "sliding_window", "limit": 10**9, "window_s": 86400},  # not exact in Lua
    {"dimension": "global", "match": "x"},
])
def test_a_bad_spec_is_refused(bad):
    fields = {"name": "n", "dimension": "key", "algorithm": "token_bucket", "limit": 10, **bad}
    with pytest.raises(ValueError):
        LimitSpec(**fields)


def test_limits_apply_to_the_dimensions_a_caller_has():
    limits = LimitSet([LimitSpec("k", "key", "fixed_window", 5), LimitSpec("t", "team", "fixed_window", 5),
                       LimitSpec("g", "global", "fixed_window", 5),
                       LimitSpec("tpm", "key", "fixed_window", 500, unit="tokens")])
    hits = limits.hits(Subject(key="k1"), tokens=42, now_us=NOW)
    assert [(h.spec.name, h.cost) for h in hits] == [("k", 1), ("g", 1), ("tpm", 42)]
    assert hits[0].key != limits.hits(Subject(key="k2"), now_us=NOW)[0].key  # one counter per key


def test_a_custom_quota_replaces_the_general_limit_until_it_expires():
    general = LimitSpec("user-rpm", "user", "fixed_window", 10)
    vip = LimitSpec("user-rpm", "user", "fixed_window", 1000, match="alice",
                    expires_at=datetime(2026, 11, 24, tzinfo=UTC))
    limits = LimitSet([general, vip])
    assert [h.spec.limit for h in limits.hits(Subject(user="alice"), now_us=NOW)] == [1000]
    assert [h.spec.limit for h in limits.hits(Subject(user="bob"), now_us=NOW)] == [10]
    after = to_us(datetime(2026, 11, 24, tzinfo=UTC))
    assert [h.spec.limit for h in limits.hits(Subject(user="alice"), now_us=after)] == [10]


def verdict(*decisions: Decision) -> Verdict:
    specs = [LimitSpec(d.name, "key", "fixed_window", d.limit) for d in decisions]
    hits = tuple(Hit(s, s.fingerprint, 1) for s in specs)
    return Verdict(all(d.allowed for d in decisions), decisions, hits, NOW)


def test_headers_come_from_the_limit_with_the_smallest_share_left():
    v = verdict(Decision("rpm", True, 100, 30, 20_000_000, 0), Decision("tpm", True, 10_000, 2_000, 59_000_001, 0))
    assert rate_limit_headers(v) == {"X-RateLimit-Limit": "10000", "X-RateLimit-Remaining": "2000",
                                     "X-RateLimit-Reset": "60"}


def test_a_refusal_names_the_limit_with_the_longest_wait_and_rounds_retry_after_up():
    v = verdict(Decision("rpm", False, 10, 0, 30_000_000, 1_500_000),
                Decision("tpm", False, 1000, 5, 60_000_000, 12_000_001),
                Decision("org", True, 50, 40, 1_000_000, 0))
    assert most_restrictive(v).name == "tpm"
    err = rate_limited(v)
    assert isinstance(err, RateLimited) and err.status == 429
    assert err.headers["Retry-After"] == "13" and err.headers["X-RateLimit-Remaining"] == "5"
    body = err.body()["error"]
    assert body["type"] == "rate_limited" and body["limit"] == "tpm" and "tpm" in body["message"]


def test_a_request_that_can_never_pass_says_so_without_retry_after():
    v = verdict(Decision("tpm", False, 1000, 1000, 0, None))
    err = rate_limited(v)
    assert "Retry-After" not in err.headers and "can ever admit" in err.message


def test_a_degraded_verdict_has_no_headers():
    assert rate_limit_headers(Verdict(True, (), (), NOW, degraded=True)) == {}
