"""The gateway's side of selection: the local snapshot's routing config and stats are used,
who asks comes from the key or the payload, the default strategy defers to routes, requests in
flight are counted until their receipt."""

from __future__ import annotations

from typing import Any

from services.common.selection.request import Requirements
from services.common.settings import Settings
from services.gateway.auth.directory import KeyRecord
from services.gateway.auth.identify import Identity
from services.gateway.call import Call
from services.gateway.registry_view import RegistryView
from services.gateway.routing import GatewayRouting, InFlight, providers_for


def provider(name: str, model: str, price: str, latency: float) -> dict[str, Any]:
    return {"name": name, "model": model, "context_window": 8192, "endpoint": "http://sim",
            "cost_per_input_token": price, "cost_per_output_token": price, "slo": {"latency_p95_ms": latency}}


SNAPSHOT = {
    "version": 7,
    "providers": [provider("cheap", "gpt-4", "0.00001", 3000), provider("fast", "gpt-4", "0.00002", 200),
                  provider("mini", "gpt-4o-mini", "0.000001", 800)],
    "routing": {"version": 3, "aliases": {"fam": {"models": ["gpt-4", "gpt-4o-mini"]}},
                "routes": {"r": {"model": "gpt-4", "strategy": "latency"}},
                "experiments": {"e": {"model": "fam", "sticky": True,
                                      "arms": [{"name": "only", "provider": "fast", "percent": 100}]}}},
    "observed": {"window_s": 86400, "min_samples": 5, "success_floor": 0.8,
                 "providers": {"fast": {"p95_ms": 5000, "success_rate": 1.0, "samples": 50}}},
}
VIEW = RegistryView.from_snapshot(SNAPSHOT)


def call(model: str | None, optimization: str | None = None, request_id: str = "req-1", **payload: Any) -> Call:
    return Call(request_id, "run", "agent-7", {"messages": [{"role": "user", "content": "hi"}], **payload},
                Requirements(model=model), optimization)


def test_the_snapshot_carries_routing_and_observed_stats():
    assert VIEW.routing.version == 3 and VIEW.routing.aliases == {"fam": ("gpt-4", "gpt-4o-mini")}
    assert VIEW.observed.min_samples == 5 and VIEW.observed.providers["fast"].p95_ms == 5000


def test_providers_for_an_alias_a_virtual_model_and_a_model():
    assert [p.name for p in providers_for(VIEW, "fam")] == ["cheap", "fast", "mini"]
    assert len(providers_for(VIEW, "tollway/auto")) == 3
    assert [p.name for p in providers_for(VIEW, "gpt-4")] == ["cheap", "fast"]
    assert providers_for(VIEW, "nope") == ()


def test_the_default_strategy_defers_to_the_route_and_an_asked_one_does_not():
    routing = GatewayRouting(Settings(default_optimization="cost"))
    d = routing.decide(VIEW, call("gpt-4", None, "r1"))
    # the route says latency; fast's observed 5000 ms (50 samples) beats its 200 ms SLO
    assert d.strategy == "latency" and d.provider.name == "cheap"
    d = routing.decide(VIEW, call("gpt-4", "balanced", "r2"))
    assert d.strategy == "balanced"
    # asking for the default's strategy by name is asking: it overrides the route
    d = routing.decide(VIEW, call("gpt-4", "cost", "r3"))
    assert d.strategy == "cost" and d.provider.name == "cheap"


def test_an_experiment_on_an_alias_goes_into_the_decision():
    d = GatewayRouting(Settings()).decide(VIEW, call("fam"))
    assert d.experiment_json() == {"name": "e", "arm": "only"} and d.provider.name == "fast"


def test_who_asks_comes_from_the_key_else_the_user_else_the_agent():
    routing = GatewayRouting(Settings())
    keyed = Identity(KeyRecord("key-1", team="berlin"))
    assert routing.requirements(call("m"), keyed).key == "key-1"
    assert routing.requirements(call("m"), keyed).team == "berlin"
    assert routing.requirements(call("m", user="u-9"), None).key == "u-9"
    assert routing.requirements(call("m"), None).key == "agent-7"


def test_requests_are_in_flight_until_their_receipt():
    routing = GatewayRouting(Settings())
    routing.decide(VIEW, call("gpt-4", "least_busy", "a"))
    second = routing.decide(VIEW, call("gpt-4", "least_busy", "b"))
    assert routing.in_flight.counts == {"cheap": 1, "fast": 1} and second.provider.name == "fast"
    routing.finished({"request_id": "a", "timestamp": "2026-11-23T10:00:00.000Z", "attempts": []})
    assert routing.in_flight.counts == {"fast": 1}
    assert routing.decide(VIEW, call("gpt-4", "least_busy", "c")).provider.name == "cheap"


def test_in_flight_entries_expire_when_no_receipt_ever_comes():
    flight = InFlight(ttl_s=10)
    flight.start("a", "p", now=0.0)
    flight.start("b", "p", now=5.0)
    flight.start("c", "q", now=11.0)  # "a" is 11 s old: gone
    assert flight.counts == {"p": 1, "q": 1}
    flight.finish("unknown")
    assert flight.counts == {"p": 1, "q": 1}


def test_catalogs_are_prepared_once_per_snapshot_and_model():
    routing = GatewayRouting(Settings())
    first = routing.catalog(VIEW, "gpt-4")
    assert routing.catalog(VIEW, "gpt-4") is first and len(first) == 2
    fresh = RegistryView.from_snapshot(SNAPSHOT)
    assert routing.catalog(fresh, "gpt-4") is not first


def test_one_context_per_snapshot_and_a_new_snapshot_is_seen_at_once():
    routing = GatewayRouting(Settings(default_optimization="cost"))
    assert routing.decide(VIEW, call("gpt-4", None, "c1")).strategy == "latency"  # the route r
    changed = RegistryView.from_snapshot({**SNAPSHOT, "routing": {**SNAPSHOT["routing"], "version": 4,
                                                                  "routes": {}}})
    d = routing.decide(changed, call("gpt-4", None, "c2"))
    assert d.strategy == "cost" and d.provider.name == "cheap"  # the route is gone in the new snapshot
    # the context is kept between requests, yet sees this gateway's live in-flight counts
    routing.in_flight.finish("c1")
    routing.in_flight.finish("c2")
    busy = routing.decide(changed, call("gpt-4", "least_busy", "c3"))
    again = routing.decide(changed, call("gpt-4", "least_busy", "c4"))
    assert busy.provider.name != again.provider.name
