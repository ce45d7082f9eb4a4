"""Cost strategy: the cheapest estimated cost for this request, exact; never dearer than any
eligible alternative; exclusions always honoured."""

from __future__ import annotations

from decimal import Decimal

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common import contracts
from services.common.errors import NoProviderMatches
from services.common.selection.estimate import estimated_cost
from tests.unit.common.selection.fleet import NOW, ask, names, provider

PRICE = st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=3)
FEATURES = st.sets(st.sampled_from(["vision", "function_calling", "json_mode"]), max_size=3)


def test_picks_the_cheapest_for_the_request_and_says_by_how_much():
    fleet = [provider("cheap", inp="10", out="30"), provider("fast", inp="20", out="40", latency_ms=300),
             provider("pricey", inp="60", out="120")]
    d = ask(fleet, "cost", input_tokens=1000, output_tokens=500)
    assert names(d) == ["cheap", "fast", "pricey"]
    assert d.choice.cost == Decimal("0.025000")  # 1000 x 10/1e6 + 500 x 30/1e6
    assert "$0.025000" in d.reason and "next fast $0.040000" in d.reason
    assert d.confidence == 1.0
    body = d.to_json()
    jsonschema.validate(body, contracts.schema("routing_decision"))
    assert body["strategy"] == "cost" and body["alternatives"][0]["provider"] == "fast"


def test_output_heavy_requests_can_flip_the_choice():
    cheap_in = provider("cheap-in", inp="1", out="60", context_window=32_000)
    cheap_out = provider("cheap-out", inp="20", out="10", context_window=32_000)
    assert ask([cheap_in, cheap_out], input_tokens=10_000, output_tokens=10).provider.name == "cheap-in"
    assert ask([cheap_in, cheap_out], input_tokens=10, output_tokens=10_000).provider.name == "cheap-out"


def test_a_tie_halves_the_confidence_and_breaks_by_priority_then_name():
    d = ask([provider("b", priority=5), provider("a", priority=5), provider("c", priority=1)])
    assert names(d) == ["c", "a", "b"] and d.confidence == 0.5


def test_excluded_providers_are_listed_with_their_reason_and_counted_in_the_reason():
    fleet = [provider("a"), provider("b", context_window=1000), provider("c", model="claude")]
    d = ask(fleet, "cost", model="gpt-4")
    assert dict(d.excluded) == {"b": "context window 1000 < 1500 tokens needed", "c": "serves claude, not gpt-4"}
    assert "2 excluded: b (context window 1000 < 1500 tokens needed), c (serves claude, not gpt-4)" in d.reason


def test_nothing_eligible_is_a_no_provider_error_naming_what_was_asked():
    with pytest.raises(NoProviderMatches, match="vision"):
        ask([provider("a")], features=frozenset({"vision"}))


@settings(max_examples=200, deadline=None)
@given(fleet_spec=st.lists(st.tuples(PRICE, PRICE, FEATURES, st.booleans()), min_size=1, max_size=12),
       needs=FEATURES, tokens=st.tuples(st.integers(0, 50_000), st.integers(1, 8_000)),
       excluded=st.sets(st.integers(0, 11), max_size=4))
def test_cost_choice_is_never_dearer_than_any_eligible_alternative(fleet_spec, needs, tokens, excluded):
    fleet = []
    for i, (inp, out, features, active) in enumerate(fleet_spec):
        p = provider(f"p{i}", inp=inp, out=out, features=tuple(features), context_window=60_000)
        fleet.append(p if active else p.touched(NOW, active=False))
    exclude = tuple(f"p{i}" for i in excluded)
    eligible = [p for p in fleet if p.active and p.name not in exclude and needs <= p.features]
    if not eligible:
        with pytest.raises(NoProviderMatches):
            ask(fleet, "cost", input_tokens=tokens[0], output_tokens=tokens[1], exclude=exclude,
                features=frozenset(needs))
        return
    d = ask(fleet, "cost", input_tokens=tokens[0], output_tokens=tokens[1], exclude=exclude,
            features=frozenset(needs))
    for p in eligible:
        assert d.choice.cost <= estimated_cost(tokens[0], tokens[1], p.input_per_token, p.output_per_token)
    ranked = {c.name for c in d.ranked}
    assert ranked == {p.name for p in eligible}  # nothing inactive, excluded or lacking a feature
    assert {n for n, _ in d.excluded} == {p.name for p in fleet} - ranked
    costs = [c.cost for c in d.ranked]
    assert costs == sorted(costs)
