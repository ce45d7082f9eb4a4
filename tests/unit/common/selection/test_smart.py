"""Smart routing: complexity classes from length, code, reasoning cues, turns and tools; tiers
by price or declared; virtual models tollway/auto, auto-cost, auto-quality, auto-latency; the
same variants for `smart` within an alias by its route's smart_mode."""

from __future__ import annotations

import jsonschema
import pytest

from services.common import contracts
from services.common.errors import InvalidRequest
from services.common.selection.complexity import classify
from services.common.selection.config import check_entry
from services.common.selection.smart import SMART_MODES, VIRTUAL_MODELS, tiers_by_price
from tests.unit.common.selection.fleet import ask, ctx, provider, user

TOOLS = ("function_calling",)
FLEET = [provider("mini", model="gpt-4o-mini", inp="0.15", out="0.6", features=TOOLS),
         provider("mid", model="claude-haiku", inp="1", out="5", features=TOOLS),
         provider("top", model="gpt-4o", inp="2.5", out="10", features=TOOLS),
         provider("top2", model="gpt-4o", inp="3", out="12", features=TOOLS)]
HARD = user("Prove step by step why this is O(n log n), then debug it:\n```python\ndef f(xs):\n"
            "    return sorted(xs)\n```", tools=[{"type": "function", "function": {"name": "run"}}])


@pytest.mark.parametrize(("payload", "level", "cue"), [
    (user("What is the capital of France?"), "simple", None),
    (user("Can you compare these two options?"), "medium", "reasoning: compare"),
    (user("fix this:\n```js\nconst a = 1;\n```"), "medium", "code"),
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}] * 4}, "medium",
     "8 turns"),
    (HARD, "complex", "tools"),
])
def test_complexity_classes_and_their_cues(payload, level, cue):
    c = classify(payload, 50, 200)
    assert c.level == level
    if cue:
        assert cue in c.cues


def test_length_alone_counts_one_or_two_points():
    assert classify(user("x"), 1500, 100).score == 1
    assert classify(user("x"), 5000, 100).level == "medium"
    assert classify(user("x"), 5000, 3000).level == "complex"


def test_tiers_by_price_split_the_models_in_thirds():
    d = ask(FLEET, "cost")
    assert tiers_by_price(list(d.ranked)) == {"gpt-4o-mini": 0, "claude-haiku": 1, "gpt-4o": 2}


@pytest.mark.parametrize(("model", "payload", "provider_name", "level"), [
    ("tollway/auto", user("hi"), "mini", "simple"),
    ("tollway/auto", user("please compare a and b"), "mid", "medium"),
    ("tollway/auto", HARD, "top", "complex"),
    ("tollway/auto-cost", HARD, "mid", "complex"),
    ("tollway/auto-quality", user("hi"), "mid", "simple"),
])
def test_virtual_models_pick_a_tier_by_complexity(model, payload, provider_name, level):
    d = ask(FLEET, None, model=model, payload=payload, input_tokens=60, output_tokens=200)
    assert d.strategy == "smart" and d.provider.name == provider_name
    assert d.complexity is not None and d.complexity.level == level
    assert f"complexity {level}" in d.reason
    body = d.to_json()
    jsonschema.validate(body, contracts.schema("routing_decision"))
    assert body["complexity"]["class"] == level


def test_the_reason_carries_the_cues_and_the_tier():
    d = ask(FLEET, None, model="tollway/auto", payload=HARD, input_tokens=60, output_tokens=200)
    assert "code" in d.reason and "reasoning: " in d.reason and "tools" in d.reason
    assert "tier complex (tiers by price); cheapest there top (gpt-4o)" in d.reason


def test_declared_tiers_win_over_price_and_an_empty_tier_falls_to_the_nearest():
    declared = ctx({"smart": {"tiers": {"simple": ["gpt-4o"], "complex": ["gpt-4o-mini"]}}})
    d = ask(FLEET, None, declared, model="tollway/auto", payload=user("hi"), input_tokens=60, output_tokens=200)
    assert d.provider.name == "top" and "(tiers declared)" in d.reason
    d = ask(FLEET, None, declared, model="tollway/auto", payload=user("compare a with b"), input_tokens=60,
            output_tokens=200)
    assert "tier medium has no eligible provider, nearest is complex" in d.reason


def test_smart_as_a_strategy_stays_within_the_model_asked():
    d = ask(FLEET, "smart", model="gpt-4o", payload=HARD, input_tokens=60, output_tokens=200)
    assert d.provider.model == "gpt-4o" and d.strategy == "smart"


# two models per tier by price: in each, a cheaper slow one and a dearer fast one
SPEEDY = [provider("mini-slow", model="mini-a", inp="0.1", out="0.4", latency_ms=900, features=TOOLS),
          provider("mini-fast", model="mini-b", inp="0.15", out="0.6", latency_ms=300, features=TOOLS),
          provider("mid-slow", model="mid-a", inp="1", out="4", latency_ms=2000, features=TOOLS),
          provider("mid-fast", model="mid-b", inp="1.2", out="5", latency_ms=700, features=TOOLS),
          provider("top-slow", model="top-a", inp="3", out="12", latency_ms=5000, features=TOOLS),
          provider("top-fast", model="top-b", inp="5", out="15", latency_ms=1500, features=TOOLS)]


@pytest.mark.parametrize(("payload", "cheapest", "fastest", "level"), [
    (user("hi"), "mini-slow", "mini-fast", "simple"),
    (HARD, "top-slow", "top-fast", "complex"),
])
def test_auto_latency_picks_the_fastest_in_the_tier_auto_the_cheapest(payload, cheapest, fastest, level):
    common = {"payload": payload, "input_tokens": 60, "output_tokens": 200}
    assert ask(SPEEDY, None, model="tollway/auto", **common).provider.name == cheapest
    d = ask(SPEEDY, None, model="tollway/auto-latency", **common)
    assert d.strategy == "smart" and d.provider.name == fastest and d.complexity.level == level
    assert f"auto-latency: the fastest in the tier; tier {level}" in d.reason
    assert f"fastest there {fastest}" in d.reason and "ms (SLO)" in d.reason
    assert d.ranked[1].name == cheapest  # the same tier's slower one next, before any other tier
    jsonschema.validate(d.to_json(), contracts.schema("routing_decision"))


def test_auto_latency_goes_by_observed_p95_once_there_are_enough_outcomes():
    stats = {"mini-slow": (120.0, 1.0, 50), "mini-fast": (400.0, 1.0, 50)}  # observed: the "slow" one is faster
    d = ask(SPEEDY, None, ctx(stats=stats), model="tollway/auto-latency", payload=user("hi"), input_tokens=60,
            output_tokens=200)
    assert d.provider.name == "mini-slow" and "p95 120 ms observed over 50 outcomes" in d.reason


def test_auto_latency_leaves_out_who_is_under_the_success_floor():
    stats = {"mini-fast": (100.0, 0.5, 50)}
    d = ask(SPEEDY, None, ctx(stats=stats), model="tollway/auto-latency", payload=user("hi"), input_tokens=60,
            output_tokens=200)
    assert d.provider.name == "mini-slow"
    assert ("mini-fast", "success rate 50% < floor 80% over 50 outcomes") in d.excluded
    # cost mode has no floor: the same provider stays (and, cheapest or not, is ranked)
    d = ask(SPEEDY, None, ctx(stats=stats), model="tollway/auto", payload=user("hi"), input_tokens=60,
            output_tokens=200)
    assert "mini-fast" in [c.name for c in d.ranked]


def test_auto_latency_with_an_empty_tier_falls_to_the_lower_neighbour():
    # medium has no provider: cost and latency modes go down to simple, auto (quality on ties) goes up
    fleet = [p for p in SPEEDY if not p.name.startswith("mid")]
    declared = ctx({"smart": {"tiers": {"simple": ["mini-a", "mini-b"], "complex": ["top-a", "top-b"]}}})
    common = {"payload": user("please compare a and b"), "input_tokens": 60, "output_tokens": 200}
    assert ask(fleet, None, declared, model="tollway/auto", **common).provider.name == "top-slow"
    d = ask(fleet, None, declared, model="tollway/auto-latency", **common)
    assert d.provider.name == "mini-fast" and "tier medium has no eligible provider, nearest is simple" in d.reason


SPEEDY_ALIAS = {"aliases": {"speedy": {"models": sorted({p.model for p in SPEEDY})}}}


def routed(mode: str, strategy: str | None = None) -> dict:
    """SPEEDY's models as the alias `speedy`, its route ranking by smart in `mode`."""
    route = {"model": "speedy", "smart_mode": mode, **({"strategy": strategy} if strategy else {})}
    return {**SPEEDY_ALIAS, "routes": {"speedy-route": route}}


@pytest.mark.parametrize("mode", SMART_MODES)
@pytest.mark.parametrize("payload", [user("hi"), user("please compare a and b"), HARD])
def test_an_alias_routed_by_smart_mode_decides_as_its_virtual_model(mode, payload):
    common = {"payload": payload, "input_tokens": 60, "output_tokens": 200}
    virtual = ask(SPEEDY, None, model=f"tollway/{mode}", **common)
    d = ask(SPEEDY, None, ctx(routed(mode)), model="speedy", **common)
    assert d.strategy == "smart" and d.reason == virtual.reason
    assert [c.name for c in d.ranked] == [c.name for c in virtual.ranked]
    # the route naming smart too, or the request asking for smart: the same
    assert ask(SPEEDY, None, ctx(routed(mode, "smart")), model="speedy", **common).reason == virtual.reason
    assert ask(SPEEDY, "smart", ctx(routed(mode)), model="speedy", **common).reason == virtual.reason


def test_an_alias_in_latency_mode_picks_the_fastest_and_applies_the_floor():
    common = {"payload": user("hi"), "input_tokens": 60, "output_tokens": 200}
    assert ask(SPEEDY, "smart", ctx(SPEEDY_ALIAS), model="speedy", **common).provider.name == "mini-slow"
    d = ask(SPEEDY, None, ctx(routed("auto-latency")), model="speedy", **common)
    assert d.provider.name == "mini-fast" and "auto-latency: the fastest in the tier; tier simple" in d.reason
    floored = ask(SPEEDY, None, ctx(routed("auto-latency"), stats={"mini-fast": (100.0, 0.5, 50)}), model="speedy",
                  **common)
    assert floored.provider.name == "mini-slow"
    assert ("mini-fast", "success rate 50% < floor 80% over 50 outcomes") in floored.excluded


def test_a_request_naming_another_strategy_leaves_the_routes_smart_mode_unused():
    stats = {"mini-fast": (100.0, 0.5, 50)}
    d = ask(SPEEDY, "cost", ctx(routed("auto-latency"), stats=stats), model="speedy", payload=user("hi"),
            input_tokens=60, output_tokens=200)
    assert d.strategy == "cost" and "mini-fast" in [c.name for c in d.ranked]  # no latency floor on cost
    assert "auto-latency" not in d.reason


def test_smart_modes_are_the_virtual_models_and_the_contract_lists_them():
    assert [f"tollway/{m}" for m in SMART_MODES] == list(VIRTUAL_MODELS)
    route = contracts.raw_schema("routing_route")["properties"]["smart_mode"]
    assert route["enum"] == list(SMART_MODES)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"model": "m", "smart_mode": "fastest"}, contracts.schema("routing_route"))


@pytest.mark.parametrize("strategy", ["cost", "latency", "round-robin"])
def test_a_smart_mode_beside_another_strategy_is_refused_naming_the_field(strategy):
    with pytest.raises(InvalidRequest) as refused:
        check_entry("routes", "r", {"model": "m", "strategy": strategy, "smart_mode": "auto-latency"})
    assert refused.value.field == "smart_mode" and f"not by strategy {strategy}" in refused.value.message
    check_entry("routes", "r", {"model": "m", "strategy": "smart", "smart_mode": "auto-latency"})
    check_entry("routes", "r", {"model": "m", "smart_mode": "auto-latency"})
