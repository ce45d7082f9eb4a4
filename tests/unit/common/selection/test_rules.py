"""Rules: conditions on the request -> preferred providers with weights, before the strategy."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from services.common.selection.context import RoutingContext
from services.common.selection.decide import select
from services.common.selection.request import SelectionRequest
from services.common.selection.rules import weighted_draw
from tests.unit.common.selection.fleet import ask, ctx, names, provider, user

FLEET = [provider("cheap", inp="1"), provider("vision-a", inp="10", features=("vision",)),
         provider("vision-b", inp="20", features=("vision",)), provider("eu", inp="5", region="eu")]
IMAGE = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}]}


def rule(when: dict, prefer: list, **extra) -> dict:
    return {"when": when, "prefer": prefer, **extra}


def test_a_matching_rule_decides_before_the_strategy_and_the_strategy_orders_the_fallbacks():
    config = {"rules": {"team-eu": rule({"teams": ["berlin"]}, [{"provider": "eu"}])}}
    d = ask(FLEET, "cost", ctx(config), team="berlin")
    assert names(d) == ["eu", "cheap", "vision-a", "vision-b"]
    assert d.rule == "team-eu" and d.confidence == 1.0
    assert d.reason.startswith("rule team-eu: eu (its only eligible provider, $0.020000); fallbacks by cost")
    assert ask(FLEET, "cost", ctx(config), team="paris").rule is None


def test_weights_share_the_traffic_between_preferred_providers():
    config = {"rules": {"vision": rule({"requires": ["vision"]},
                                       [{"provider": "vision-a", "weight": 3}, {"provider": "vision-b", "weight": 1}])}}
    shared = ctx(config, seed=1)
    picks = Counter(ask(FLEET, "cost", shared, payload=IMAGE).provider.name for _ in range(4000))
    assert 0.72 < picks["vision-a"] / 4000 < 0.78
    d = ask(FLEET, "cost", shared, payload=IMAGE)
    weight = "weight 3 of 4" if d.provider.name == "vision-a" else "weight 1 of 4"
    assert d.reason.startswith(f"rule vision: {d.provider.name} ({weight}")
    assert names(d)[:2] in (["vision-a", "vision-b"], ["vision-b", "vision-a"])


def test_weighted_draw_owns_shares_of_the_unit_interval():
    entries = [(None, 1.0), (None, 0.0), (None, 3.0)]
    assert [weighted_draw(entries, u) for u in (0.0, 0.24, 0.25, 0.99)] == [0, 0, 2, 2]
    assert weighted_draw([(None, 0.0)], 0.5) == 0


def test_every_condition_must_hold():
    config = {"rules": {"r": rule({"models": ["gpt-4"], "keys": ["k1"], "tags": ["batch"]}, [{"provider": "eu"}])}}
    c = ctx(config)
    assert ask(FLEET, "cost", c, model="gpt-4", key="k1", tags=frozenset({"batch", "x"})).rule == "r"
    assert ask(FLEET, "cost", c, model="gpt-4", key="k2", tags=frozenset({"batch"})).rule is None
    assert ask(FLEET, "cost", c, model="gpt-4", key="k1").rule is None


def test_limit_conditions_match_callers_with_a_tight_enough_limit():
    config = {"rules": {"frugal": rule({"max_cost_usd": 0.05}, [{"provider": "eu"}]),
                        "hurry": rule({"max_latency_ms": 500}, [{"provider": "vision-a"}], order=1)}}
    c = ctx(config)
    assert ask(FLEET, "cost", c, max_cost_usd=Decimal("0.04")).rule == "frugal"
    assert ask(FLEET, "cost", c, max_cost_usd=Decimal("0.5")).rule is None
    assert ask(FLEET, "cost", c).rule is None
    assert ask(FLEET, "cost", c, max_latency_ms=300.0, max_cost_usd=Decimal("0.04")).rule == "hurry"  # order 1


def test_a_rule_whose_providers_are_all_ineligible_gives_way_and_says_so():
    config = {"rules": {"gone": rule({}, [{"provider": "vision-b"}])}}
    d = ask(FLEET, "cost", ctx(config), exclude=("vision-b",))
    assert d.rule is None and d.provider.name == "cheap"
    assert "rule gone matched but none of its providers is eligible" in d.reason


def test_disabled_rules_never_match():
    config = {"rules": {"off": rule({}, [{"provider": "eu"}], enabled=False)}}
    assert ask(FLEET, "cost", ctx(config), payload=user("hi")).rule is None


def test_the_callers_limits_exclude_providers_over_them():
    fleet = [provider("fast", inp="50", latency_ms=100), provider("slow", inp="1", latency_ms=5000)]
    d = ask(fleet, "latency", max_latency_ms=1000.0)
    assert names(d) == ["fast"] and dict(d.excluded)["slow"].startswith("expected p95 5000 ms > the caller's limit")
    d = ask(fleet, "latency", max_cost_usd=Decimal("0.02"))
    assert names(d) == ["slow"] and "estimated $0.065000 > the caller's limit $0.02" in dict(d.excluded)["fast"]


def test_max_tokens_and_prompt_length_conditions_hold_within_their_bounds():
    config = {"rules": {
        "long-answer": rule({"max_tokens": {"min": 2000}}, [{"provider": "vision-b"}], order=1),
        "short-chat": rule({"prompt_tokens": {"max": 100}, "max_tokens": {"min": 1, "max": 256}},
                           [{"provider": "eu"}], order=2)}}
    c = ctx(config)
    assert ask(FLEET, "cost", c, input_tokens=50, output_tokens=2000).rule == "long-answer"  # bounds inclusive
    assert ask(FLEET, "cost", c, input_tokens=50, output_tokens=1999).rule is None
    assert ask(FLEET, "cost", c, input_tokens=100, output_tokens=256).rule == "short-chat"
    assert ask(FLEET, "cost", c, input_tokens=101, output_tokens=256).rule is None  # prompt too long
    assert ask(FLEET, "cost", c, input_tokens=100, output_tokens=257).rule is None  # answer too long


def test_token_conditions_read_the_payloads_max_tokens_and_prompt():
    config = {"rules": {"short": rule({"prompt_tokens": {"max": 40}, "max_tokens": {"max": 100}},
                                      [{"provider": "eu"}])}}
    routing: RoutingContext = ctx(config)

    def decide(payload: dict) -> str | None:
        return select(FLEET, SelectionRequest.from_json({"payload": payload}), routing).rule

    assert decide(user("hi", max_tokens=100)) == "short"
    assert decide(user("hi", max_completion_tokens=100)) == "short"
    assert decide(user("hi")) is None  # no max_tokens: the default estimate (500)
    assert decide(user("word " * 200, max_tokens=100)) is None  # about 250 prompt tokens
