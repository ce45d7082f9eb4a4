"""Health status from probes and reported outcomes: out after N failed probes in a row, back after
M good ones, out after P failed requests in a row; each probe in the provider's own format."""

from decimal import Decimal

import pytest

from services.common.registry.provider import Health, Provider
from services.router.health.probe import probe_request
from services.router.health.tracker import HealthTracker, Thresholds

HEALTHY, UNHEALTHY, UNKNOWN = Health("healthy"), Health("unhealthy", "x"), Health()


def tracker(**t) -> HealthTracker:
    return HealthTracker(Thresholds(**{"unhealthy_after": 3, "healthy_after": 2, "passive_failures": 4, **t}))


def test_an_unchecked_provider_is_healthy_at_its_first_good_probe():
    assert tracker().probe("p", UNKNOWN, True, "", "t1") == Health("healthy", None, "t1")
    assert tracker().probe("p", HEALTHY, True, "", "t1") is None  # no change, no registry write


def test_it_goes_out_after_n_failed_probes_in_a_row_naming_the_failure():
    t = tracker()
    assert t.probe("p", HEALTHY, False, "HTTP 503", "t1") is None
    assert t.probe("p", HEALTHY, False, "HTTP 503", "t2") is None
    out = t.probe("p", HEALTHY, False, "cannot reach it: ConnectError", "t3")
    assert out == Health("unhealthy", "3 health checks failed in a row: cannot reach it: ConnectError", "t3")


def test_a_good_probe_in_between_starts_the_count_again():
    t = tracker()
    for ok in (False, False, True, False, False):
        assert t.probe("p", HEALTHY, ok, "e", "t") is None


def test_it_comes_back_after_m_good_probes_in_a_row():
    t = tracker()
    assert t.probe("p", UNHEALTHY, True, "", "t1") is None
    assert t.probe("p", UNHEALTHY, False, "e", "t2") is None
    assert t.probe("p", UNHEALTHY, True, "", "t3") is None
    assert t.probe("p", UNHEALTHY, True, "", "t4") == Health("healthy", None, "t4")


def test_failed_requests_in_a_row_take_it_out_and_a_success_resets_them():
    t = tracker()
    for ok in (False, False, False, True, False, False, False):
        assert t.outcome("p", HEALTHY, ok, "t") is None
    assert t.outcome("p", HEALTHY, False, "t9").reason == "4 requests failed in a row (reported by gateways)"


def test_passive_health_can_be_off():
    t = tracker(passive_failures=0)
    assert all(t.outcome("p", HEALTHY, False, "t") is None for _ in range(100))


def test_providers_are_tracked_apart():
    t = tracker(unhealthy_after=2)
    assert t.probe("a", HEALTHY, False, "e", "t") is None
    assert t.probe("b", HEALTHY, False, "e", "t") is None
    assert t.probe("a", HEALTHY, False, "e", "t").status == "unhealthy"


def provider(fmt: str, endpoint: str = "http://h:1", **kw) -> Provider:
    return Provider("p", "m", 100, endpoint, Decimal(0), Decimal(0), api_format=fmt, **kw)


@pytest.mark.parametrize("fmt, endpoint, url, header", [
    ("openai", "http://h:1", "http://h:1/v1/models", "authorization"),
    ("openai", "http://h:1/v1/", "http://h:1/v1/models", "authorization"),
    ("azure", "https://r.openai.azure.com", "https://r.openai.azure.com/openai/models?api-version=2024-10-21",
     "api-key"),
    ("anthropic", "https://api.anthropic.com", "https://api.anthropic.com/v1/models", "x-api-key"),
    ("gemini", "https://g.googleapis.com", "https://g.googleapis.com/v1beta/models", "x-goog-api-key"),
])
def test_each_format_is_probed_at_its_models_list_with_its_key_header(fmt, endpoint, url, header):
    got_url, headers = probe_request(provider(fmt, endpoint, api_key_env="K"), {"K": "sk-1"})
    assert got_url == url and "sk-1" in headers[header]
    assert header not in probe_request(provider(fmt, endpoint, api_key_env="K"), {})[1]


def test_a_health_url_is_probed_as_given_without_the_key():
    assert probe_request(provider("openai", health_url="http://h:1/healthz", api_key_env="K"),
                         {"K": "sk"}) == ("http://h:1/healthz", {})
