"""Smart routing: complexity classes from length, code, reasoning cues, turns and tools; tiers
by price or declared; virtual models tollway/auto, auto-cost, auto-quality."""

from __future__ import annotations

import jsonschema
import pytest

from services.common import contracts
from services.common.selection.complexity import classify
from services.common.selection.smart import tiers_by_price
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
