"""Routing on real processes: an alias or a rule put through the router's API changes the
gateway's choice within a couple of seconds, without a restart; the strategy asked per request,
and an experiment's arm, are in the receipt; latency routing moves traffic away from a provider
whose simulated latency is raised, from the gateway's own outcome reports; smart routing's
latency mode (tollway/auto-latency) takes the fastest of the request's tier, and follows what the
gateways observe; an alias routed by `smart` takes the same latency mode from its route's
`smart_mode`; a preset rule from examples/routing/presets.yaml, put through the router's API,
routes the chat requests it fits."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import jsonschema
import pytest
import yaml

from services.common import contracts
from tests.e2e.conftest import wait_until
from tests.e2e.swarm import Swarm

ADMIN = "routing-e2e-admin"
PRESETS = Path(__file__).resolve().parents[2] / "examples" / "routing" / "presets.yaml"
ROUTING_YAML = """
routes:
  yaml-route:
    model: failover-model
    strategy: failover
smart:
  tiers:
    simple: [al-small-a, al-small-b, sm-small-a, sm-small-b]
    complex: [al-big, sm-big]
"""


@pytest.fixture(scope="module")
def swarm(tmp_path_factory):
    root: Path = tmp_path_factory.mktemp("routing")
    (root / "routing.yaml").write_text(ROUTING_YAML)
    s = Swarm(root, admin_key=ADMIN, extra_env={
        "TOLLWAY_ROUTING_CONFIG": str(root / "routing.yaml"),
        "TOLLWAY_LATENCY_MIN_SAMPLES": "5",
        "TOLLWAY_STATS_PUBLISH_INTERVAL_S": "0.2",
        "TOLLWAY_OUTCOME_REPORT_INTERVAL_S": "0.1",
    })
    s.start_all()
    yield s
    s.stop_all()


@pytest.fixture(scope="module")
def http(swarm: Swarm):
    with httpx.Client(timeout=30, headers=swarm.admin) as client:
        yield client


def register(http: httpx.Client, swarm: Swarm, name: str, model: str, price: str, *, slo_ms: float = 1000,
             spec: str = "tps=0", priority: int = 100) -> None:
    body = {"name": name, "model": model, "context_window": 8192, "input_per_mtok": price, "output_per_mtok": price,
            "endpoint": f"{swarm.url('simulator')}/sim/{spec}", "slo": {"latency_p95_ms": slo_ms}, "priority": priority}
    resp = http.post(swarm.url("router") + "/register", json=body)
    assert resp.status_code in (200, 201), resp.text


def route(http: httpx.Client, swarm: Swarm, model: str, run: str, **extra) -> httpx.Response:
    body = {"run_id": run, "requirements": {"model": model},
            "payload": {"messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 8}, **extra}
    return http.post(swarm.url("gateway") + "/route", json=body)


def receipts(swarm: Swarm, run: str) -> list[dict]:
    path = swarm.costs / f"{run}.jsonl"
    return [json.loads(line, parse_float=Decimal) for line in path.read_text().splitlines() if line]


@pytest.fixture(scope="module")
def fleet(swarm: Swarm, http: httpx.Client):
    register(http, swarm, "gpt4-a", "gpt-4", "10")
    register(http, swarm, "gpt4-b", "gpt-4", "20")
    register(http, swarm, "mini", "gpt-4o-mini", "1")
    swarm.wait_for_model("gpt-4")
    swarm.wait_for_model("gpt-4o-mini")


def test_an_alias_put_through_the_router_is_served_by_the_gateway_without_restart(swarm, http, fleet):
    assert route(http, swarm, "family", "alias-run").status_code == 404  # nobody serves "family" yet
    resp = http.put(swarm.url("router") + "/routing/aliases/family", json={"models": ["gpt-4", "gpt-4o-mini"]})
    assert resp.status_code == 201, resp.text
    waited = wait_until(lambda: route(http, swarm, "family", "alias-run").status_code == 200, timeout=2.0)
    assert waited < 2.0
    out = route(http, swarm, "family", "alias-run").json()
    assert out["decision"]["provider"] == "mini"  # the cheapest of the family's models
    assert {c["provider"] for c in out["decision"]["alternatives"]} == {"gpt4-a", "gpt4-b"}


def test_a_rule_put_through_the_router_changes_the_choice_within_two_seconds(swarm, http, fleet):
    assert route(http, swarm, "gpt-4", "rule-run").json()["decision"]["provider"] == "gpt4-a"
    rule = {"when": {"models": ["gpt-4"]}, "prefer": [{"provider": "gpt4-b"}]}
    assert http.put(swarm.url("router") + "/routing/rules/prefer-b", json=rule).status_code == 201
    waited = wait_until(lambda: route(http, swarm, "gpt-4", "rule-run").json()["decision"]["provider"] == "gpt4-b", 2.0)
    assert waited < 2.0
    out = route(http, swarm, "gpt-4", "rule-run").json()
    assert out["decision"]["rule"] == "prefer-b" and out["receipt"]["reason"].startswith("rule prefer-b: gpt4-b")
    assert http.delete(swarm.url("router") + "/routing/rules/prefer-b").status_code == 200
    wait_until(lambda: route(http, swarm, "gpt-4", "rule-run").json()["decision"]["provider"] == "gpt4-a", 2.0)


def test_routing_changes_need_the_admin_key(swarm, fleet):
    resp = httpx.put(swarm.url("router") + "/routing/aliases/x", json={"models": ["gpt-4"]})
    assert resp.status_code == 401
    resp = httpx.post(swarm.url("router") + "/outcomes", json={"outcomes": []})
    assert resp.status_code == 401


def test_the_strategy_asked_per_request_is_in_the_receipt(swarm, http, fleet):
    out = route(http, swarm, "gpt-4", "strategy-run", optimization="failover").json()
    assert out["decision"]["strategy"] == "failover" and out["receipt"]["strategy"] == "failover"
    resp = http.post(swarm.url("gateway") + "/v1/chat/completions",
                     headers={"x-tollway-run": "strategy-run", "x-tollway-optimization": "round_robin"},
                     json={"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4})
    assert resp.status_code == 200, resp.text
    lines = receipts(swarm, "strategy-run")
    assert [r["strategy"] for r in lines] == ["failover", "round_robin"]
    assert lines[1]["reason"].startswith("round-robin over 2 providers for gpt-4")
    for r in lines:
        jsonschema.validate(r, contracts.schema("routing_receipt"))


def test_a_route_from_the_yaml_file_applies_when_the_request_names_no_strategy(swarm, http):
    register(http, swarm, "fo-primary", "failover-model", "50", priority=1)
    register(http, swarm, "fo-backup", "failover-model", "1", priority=2)
    swarm.wait_for_model("failover-model")
    wait_until(lambda: len(route(http, swarm, "failover-model", "yaml-run").json()["decision"]["alternatives"]) == 1, 2)
    out = route(http, swarm, "failover-model", "yaml-run").json()
    # the route's strategy, though fo-backup is far cheaper and the gateway's default is cost
    assert out["decision"]["strategy"] == "failover" and out["decision"]["provider"] == "fo-primary"
    assert out["receipt"]["reason"].startswith("failover by priority: fo-primary (1) > fo-backup (2)")


def test_an_experiments_arm_is_in_the_receipt(swarm, http, fleet):
    experiment = {"model": "gpt-4", "sticky": True,
                  "arms": [{"name": "control", "provider": "gpt4-a", "percent": 50},
                           {"name": "treatment", "provider": "gpt4-b", "percent": 50}]}
    assert http.put(swarm.url("router") + "/routing/experiments/ab-1", json=experiment).status_code == 201
    wait_until(lambda: "experiment" in route(http, swarm, "gpt-4", "ab-run").json()["receipt"], 2.0)
    arms = {}
    for agent in [f"agent-{i}" for i in range(12)]:
        out = route(http, swarm, "gpt-4", "ab-run", agent=agent).json()
        arm = out["receipt"]["experiment"]
        assert arm["name"] == "ab-1" and out["decision"]["experiment"] == arm
        assert out["receipt"]["provider"] == {"control": "gpt4-a", "treatment": "gpt4-b"}[arm["arm"]]
        again = route(http, swarm, "gpt-4", "ab-run", agent=agent).json()["receipt"]["experiment"]
        assert again == arm  # sticky: the agent is the key when there is no virtual key or user
        arms[agent] = arm["arm"]
    assert set(arms.values()) == {"control", "treatment"}
    assert http.delete(swarm.url("router") + "/routing/experiments/ab-1").status_code == 200


def test_latency_routing_moves_traffic_away_from_a_provider_whose_latency_is_raised(swarm, http):
    register(http, swarm, "jumpy", "lat-model", "1", slo_ms=100, spec="tps=0,latency_ms=5")
    register(http, swarm, "steady", "lat-model", "1", slo_ms=400, spec="tps=0,latency_ms=60")
    swarm.wait_for_model("lat-model")
    first = route(http, swarm, "lat-model", "lat-run", optimization="latency").json()
    assert first["decision"]["provider"] == "jumpy" and first["decision"]["latency_source"] == "slo"
    # the simulated latency of jumpy goes up; its registered SLO still says 100 ms
    register(http, swarm, "jumpy", "lat-model", "1", slo_ms=100, spec="tps=0,latency_ms=700")
    served = []
    for _ in range(25):
        served.append(route(http, swarm, "lat-model", "lat-run", optimization="latency").json()["receipt"]["provider"])
        if served[-3:] == ["steady"] * 3:
            break
    assert served[-3:] == ["steady"] * 3, served
    assert served.count("jumpy") <= 12, served  # min samples 5, plus the report and publish lag
    stats = httpx.get(swarm.url("router") + "/outcomes/stats").json()["providers"]
    assert stats["jumpy"]["p95_ms"] >= 700 and stats["jumpy"]["samples"] >= 5
    last = route(http, swarm, "lat-model", "lat-run", optimization="latency").json()["decision"]
    assert last["provider"] == "steady"
    assert "observed over" in last["reason"] and "jumpy" in [a["provider"] for a in last["alternatives"]]


def test_auto_latency_takes_the_fastest_of_the_tier_and_follows_observed_latency(swarm, http):
    register(http, swarm, "al-slow", "al-small-a", "1", slo_ms=200, spec="tps=0,latency_ms=60")
    register(http, swarm, "al-fast", "al-small-b", "3", slo_ms=100, spec="tps=0,latency_ms=5")
    register(http, swarm, "al-top", "al-big", "30", slo_ms=50, spec="tps=0,latency_ms=5")  # complex tier
    for model in ("al-small-a", "al-small-b", "al-big"):
        swarm.wait_for_model(model)
    cheap = route(http, swarm, "tollway/auto", "auto-lat-run").json()
    assert cheap["decision"]["provider"] == "al-slow"  # cost mode: the cheapest of the simple tier
    out = route(http, swarm, "tollway/auto-latency", "auto-lat-run").json()
    decision, receipt = out["decision"], out["receipt"]
    assert decision["provider"] == "al-fast" and decision["complexity"]["class"] == "simple"
    assert "auto-latency: the fastest in the tier; tier simple (tiers declared); fastest there al-fast" in (
        decision["reason"])
    assert receipt["provider"] == "al-fast" and receipt["strategy"] == "smart"
    jsonschema.validate(receipt, contracts.schema("routing_receipt"))
    # al-fast's simulated latency goes up; its SLO still says 100 ms: the gateways' outcomes move the choice
    register(http, swarm, "al-fast", "al-small-b", "3", slo_ms=100, spec="tps=0,latency_ms=400")
    served = []
    for _ in range(25):
        served.append(route(http, swarm, "tollway/auto-latency", "auto-lat-run").json()["receipt"]["provider"])
        if served[-3:] == ["al-slow"] * 3:
            break
    assert served[-3:] == ["al-slow"] * 3, served
    assert "al-top" not in served  # the complex tier's faster provider is not the simple request's
    last = route(http, swarm, "tollway/auto-latency", "auto-lat-run").json()["decision"]
    assert last["provider"] == "al-slow" and "al-fast" in [a["provider"] for a in last["alternatives"]]


def test_an_alias_routed_by_smart_takes_its_routes_latency_mode(swarm, http):
    router = swarm.url("router")
    providers = (("sm-slow", "sm-small-a", "2", 400, 60), ("sm-fast", "sm-small-b", "4", 150, 5),
                 ("sm-top", "sm-big", "30", 50, 5))  # sm-top: the fastest, but of the complex tier
    try:
        for name, model, price, slo, latency in providers:
            register(http, swarm, name, model, price, slo_ms=slo, spec=f"tps=0,latency_ms={latency}")
            swarm.wait_for_model(model)
        alias = http.put(router + "/routing/aliases/sm-family", json={"models": ["sm-small-a", "sm-small-b",
                                                                                 "sm-big"]})
        assert alias.status_code == 201, alias.text
        assert http.put(router + "/routing/routes/sm-route", json={"model": "sm-family", "strategy": "smart"}
                        ).status_code == 201

        def decided() -> dict:
            return route(http, swarm, "sm-family", "sm-run").json()["decision"]

        wait_until(lambda: decided()["strategy"] == "smart", 2.0, "the gateway following the route")
        cheap = decided()
        assert cheap["provider"] == "sm-slow" and "cheapest there sm-slow" in cheap["reason"]
        put = http.put(router + "/routing/routes/sm-route", json={"model": "sm-family", "smart_mode": "auto-latency"})
        assert put.status_code == 200 and put.json()["entry"]["smart_mode"] == "auto-latency", put.text
        assert http.get(router + "/routing").json()["routes"]["sm-route"] == {"model": "sm-family",
                                                                              "smart_mode": "auto-latency"}
        wait_until(lambda: decided()["provider"] == "sm-fast", 2.0, "the route's latency mode")
        out = route(http, swarm, "sm-family", "sm-run").json()
        decision, receipt = out["decision"], out["receipt"]
        assert decision["strategy"] == "smart" == receipt["strategy"] and decision["complexity"]["class"] == "simple"
        assert "auto-latency: the fastest in the tier; tier simple (tiers declared); fastest there sm-fast" in (
            decision["reason"])
        assert receipt["provider"] == "sm-fast" and "sm-top" not in decision["provider"]
        jsonschema.validate(receipt, contracts.schema("routing_receipt"))
        # the request's own strategy wins over the route, and with it goes the mode (the gateway takes
        # an asked strategy equal to its default, cost, for none asked: latency here)
        asked = route(http, swarm, "sm-family", "sm-run", optimization="latency").json()["decision"]
        assert asked["strategy"] == "latency" and "auto-latency" not in asked["reason"]
        assert asked["provider"] == "sm-top"  # the fastest of all: no tier in the latency strategy
    finally:
        http.delete(router + "/routing/routes/sm-route")
        http.delete(router + "/routing/aliases/sm-family")
        for name, *_ in providers:
            http.delete(router + f"/providers/{name}")


@pytest.mark.parametrize(("body", "field", "says"), [
    ({"model": "m", "smart_mode": "fastest"}, "smart_mode", "auto-latency"),
    ({"model": "m", "strategy": "cost", "smart_mode": "auto-latency"}, "smart_mode", "not by strategy cost"),
])
def test_a_bad_smart_mode_is_a_400_naming_the_field(swarm, http, body, field, says):
    resp = http.put(swarm.url("router") + "/routing/routes/bad-mode", json=body)
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["field"] == field and says in error["message"]
    whole = http.get(swarm.url("router") + "/routing").json()
    whole.pop("version")
    resp = http.put(swarm.url("router") + "/routing", json={**whole, "routes": {**whole.get("routes", {}),
                                                                                 "bad-mode": body}})
    assert resp.status_code == 400 and resp.json()["error"]["field"] == f"routes.bad-mode.{field}", resp.text
    assert http.get(swarm.url("router") + "/routing/routes/bad-mode").status_code == 404


def test_the_fast_preset_routes_a_short_chat_through_the_gateway(swarm, http):
    for name, price in (("groq-llama", "0.6"), ("anthropic-haiku", "1"), ("openai-mini", "0.2")):
        register(http, swarm, name, "preset-model", price)
    swarm.wait_for_model("preset-model")
    rules = yaml.safe_load(PRESETS.read_text())["rules"]
    assert set(rules) == {"budget", "vision", "quality", "fast"}
    try:
        for name, body in rules.items():
            resp = http.put(swarm.url("router") + f"/routing/rules/{name}", json=body)
            assert resp.status_code == 201, resp.text

        def chat(run: str, text: str, max_tokens: int) -> httpx.Response:
            return http.post(swarm.url("gateway") + "/v1/chat/completions", headers={"x-tollway-run": run},
                             json={"model": "preset-model", "max_tokens": max_tokens,
                                   "messages": [{"role": "user", "content": text}]})

        wait_until(lambda: chat("preset-warm", "ping", 64).status_code == 200 and receipts(
            swarm, "preset-warm")[-1]["reason"].startswith("rule fast:"), 2.0)
        for _ in range(6):
            assert chat("preset-run", "ping", 64).status_code == 200
        assert chat("preset-run", "ping", 1000).status_code == 200  # past fast's 256: no preset fits
        lines = receipts(swarm, "preset-run")
        for r in lines[:6]:
            assert r["reason"].startswith(f"rule fast: {r['provider']} (weight ")
            assert r["provider"] in {"groq-llama", "anthropic-haiku", "openai-mini"}
            jsonschema.validate(r, contracts.schema("routing_receipt"))
        assert not lines[6]["reason"].startswith("rule ") and lines[6]["provider"] == "openai-mini"  # the cheapest
    finally:
        for name in rules:
            http.delete(swarm.url("router") + f"/routing/rules/{name}")
