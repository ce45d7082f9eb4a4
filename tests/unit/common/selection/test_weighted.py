"""Weighted (balanced) strategy: normalised cost and latency combined with per-request weights,
else the route's, else half and half."""

from __future__ import annotations

from services.common.selection.request import Weights
from tests.unit.common.selection.fleet import ask, ctx, provider

FLEET = [provider("cheap-slow", inp="1", out="2", latency_ms=3000),
         provider("dear-fast", inp="30", out="60", latency_ms=200),
         provider("middle", inp="12", out="30", latency_ms=1200)]


def test_weights_decide_between_cheap_and_fast():
    assert ask(FLEET, "weighted", weights=Weights(0.9, 0.1)).provider.name == "cheap-slow"
    assert ask(FLEET, "weighted", weights=Weights(0.1, 0.9)).provider.name == "dear-fast"


def test_weights_from_json_are_normalised_and_named_in_the_reason():
    w = Weights.of({"cost": 60, "latency": 40})
    assert w == Weights(0.6, 0.4)
    d = ask(FLEET, "balanced", weights=w)
    assert "weights cost 0.60 / latency 0.40" in d.reason and "score" in d.reason


def test_a_route_gives_the_strategy_and_weights_when_the_request_does_not():
    routed = ctx({"routes": {"support": {"model": "gpt-4", "strategy": "weighted",
                                         "weights": {"cost": 1, "latency": 9}}}})
    d = ask(FLEET, None, routed, model="gpt-4")
    assert d.strategy == "weighted" and d.provider.name == "dear-fast"
    asked = ask(FLEET, "cost", routed, model="gpt-4")  # the request's own strategy wins
    assert asked.strategy == "cost" and asked.provider.name == "cheap-slow"


def test_observed_latency_moves_the_balance():
    seen = ctx(stats={"dear-fast": (9000.0, 1.0, 100)})
    assert ask(FLEET, "balanced", seen, weights=Weights(0.2, 0.8)).provider.name == "middle"
