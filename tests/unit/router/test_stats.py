"""Registry statistics over a list of providers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from services.common.registry.provider import Provider, provider_from_registration
from services.router.stats import registry_stats

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def provider(name: str, model: str, inp: str, out: str, features: list[str], active: bool = True) -> Provider:
    p = provider_from_registration({"name": name, "model": model, "context_window": 1000, "endpoint": "http://x",
                                    "input_per_mtok": Decimal(inp), "output_per_mtok": Decimal(out),
                                    "features": features}, NOW)
    return p if active else p.touched(NOW, active=False)


def test_counts_active_and_inactive_and_what_the_active_ones_serve():
    stats = registry_stats([
        provider("a", "gpt-4", "30", "60", ["vision", "tools"]),
        provider("b", "gpt-4", "10", "30", ["tools"]),
        provider("c", "claude-3", "3", "15", ["vision"]),
        provider("d", "gpt-4", "0.5", "1", ["vision"], active=False),
    ], version=9)
    assert stats["version"] == 9
    assert stats["providers"] == {"total": 4, "active": 3, "inactive": 1}
    assert stats["models"] == {"claude-3": 1, "gpt-4": 2}
    assert stats["features"] == {"function_calling": 2, "vision": 2}
    inp = stats["prices"]["input_per_mtok"]
    assert inp["cheapest"] == {"provider": "c", "model": "claude-3", "per_mtok": Decimal("3")}  # d is inactive
    assert inp["most_expensive"]["provider"] == "a"
    assert stats["prices"]["output_per_mtok"]["most_expensive"]["per_mtok"] == Decimal("60")


def test_prices_stay_exact_decimals():
    stats = registry_stats([provider("a", "m", "0.15", "0.6", [])], version=1)
    assert stats["prices"]["input_per_mtok"]["cheapest"]["per_mtok"] == Decimal("0.15")
    assert isinstance(stats["prices"]["output_per_mtok"]["cheapest"]["per_mtok"], Decimal)


def test_ties_go_to_the_first_name():
    stats = registry_stats([provider("b", "m", "1", "1", []), provider("a", "m", "1", "1", [])], version=2)
    assert stats["prices"]["input_per_mtok"]["cheapest"]["provider"] == "a"
    assert stats["prices"]["input_per_mtok"]["most_expensive"]["provider"] == "a"


def test_an_empty_registry():
    stats = registry_stats([], version=0)
    assert stats["providers"] == {"total": 0, "active": 0, "inactive": 0}
    assert stats["models"] == {} and stats["features"] == {}
    assert stats["prices"]["output_per_mtok"] == {"cheapest": None, "most_expensive": None}
