"""Upstream timeouts: the gateway's defaults, a provider's own overrides, and the first-byte wait
bounded by the total."""

from decimal import Decimal

from services.common.registry.provider import Provider
from services.common.settings import Settings
from services.gateway.forwarding.timeouts import Timeouts


def provider(**timeouts) -> Provider:
    return Provider("p", "m", 1000, "http://x", Decimal(0), Decimal(0), timeouts=timeouts)


def test_the_defaults_come_from_settings():
    settings = Settings(upstream_connect_timeout_s=1, upstream_read_timeout_s=2, upstream_idle_timeout_s=3,
                        upstream_total_timeout_s=4)
    assert Timeouts.from_settings(settings) == Timeouts(1, 2, 3, 4)


def test_a_provider_overrides_only_what_it_names():
    base = Timeouts(5, 120, 30, 600)
    assert base.for_provider(provider(first_byte_s=0.5, idle_s=2)) == Timeouts(5, 0.5, 2, 600)
    assert base.for_provider(provider()) is base
    assert base.for_provider(provider(bogus=1)) == base


def test_the_first_byte_wait_never_exceeds_the_total():
    assert Timeouts(1, 120, 30, 10).headers_s == 10
    assert Timeouts(1, 3, 30, 10).headers_s == 3


def test_a_registration_without_timeouts_still_parses_and_serialises():
    old = provider().to_json()
    del old["timeouts"], old["health"], old["health_url"]
    again = Provider.from_json(old)
    assert again.timeouts == {} and again.health.status == "unknown" and again.health_url is None
    assert Provider.from_json(provider(idle_s=2).to_json()).timeouts == {"idle_s": 2.0}
