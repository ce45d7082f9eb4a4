"""Latency strategy: observed P95 once a provider has enough outcomes, its SLO as the prior
until then; under the success-rate floor a provider is left out; confidence grows with samples."""

from __future__ import annotations

import pytest

from services.common.selection.observed import Latency, evidence
from tests.unit.common.selection.fleet import ask, ctx, names, provider

FLEET = [provider("slo-fast", latency_ms=300), provider("slo-slow", latency_ms=2000, inp="5"),
         provider("no-slo", inp="1")]


def test_slo_is_the_prior_when_nothing_is_observed():
    d = ask(FLEET, "latency")
    assert names(d) == ["slo-fast", "slo-slow", "no-slo"]  # no figure ranks last
    assert d.choice.latency.source == "slo"
    assert "p95 300 ms (SLO)" in d.reason and d.confidence == 0.3


def test_observed_p95_replaces_the_slo_once_the_minimum_sample_size_is_reached():
    # slo-fast claims 300 ms but is observed at 2500 ms; slo-slow is observed at 400 ms
    seen = ctx(stats={"slo-fast": (2500.0, 1.0, 50), "slo-slow": (400.0, 1.0, 50)})
    d = ask(FLEET, "latency", seen)
    assert d.provider.name == "slo-slow"
    assert "p95 400 ms observed over 50 outcomes" in d.reason
    assert d.to_json()["latency_source"] == "observed"


def test_below_the_minimum_sample_size_the_slo_still_stands():
    few = ctx(stats={"slo-fast": (2500.0, 1.0, 19), "slo-slow": (400.0, 1.0, 19)}, min_samples=20)
    d = ask(FLEET, "latency", few)
    assert d.provider.name == "slo-fast"
    assert "p95 300 ms (SLO; 19 outcomes < 20 needed)" in d.reason


def test_providers_under_the_success_floor_are_left_out_and_the_reason_says_why():
    flaky = ctx(stats={"slo-fast": (100.0, 0.5, 40), "slo-slow": (900.0, 0.99, 40)})
    d = ask(FLEET, "latency", flaky)
    assert d.provider.name == "slo-slow"
    assert dict(d.excluded)["slo-fast"] == "success rate 50% < floor 80% over 40 outcomes"
    assert "slo-fast" not in names(d)


def test_the_floor_never_empties_the_field():
    all_flaky = ctx(stats={p.name: (100.0, 0.1, 40) for p in FLEET})
    d = ask(FLEET, "latency", all_flaky)
    assert len(d.ranked) == 3 and "under the 80% success floor; ranked anyway" in d.reason


def test_the_floor_does_not_apply_to_the_cost_strategy():
    flaky = ctx(stats={"no-slo": (100.0, 0.1, 40)})
    assert ask(FLEET, "cost", flaky).provider.name == "no-slo"


@pytest.mark.parametrize("samples", [20, 50, 200, 1000])
def test_confidence_grows_with_the_sample_size(samples):
    more = evidence(Latency(300.0, "observed", samples * 2), 20)
    assert evidence(Latency(300.0, "slo"), 20) < evidence(Latency(300.0, "observed", samples), 20) < more <= 1.0


def test_a_near_tie_halves_the_confidence():
    close = ctx(stats={"slo-fast": (400.0, 1.0, 100), "slo-slow": (410.0, 1.0, 100)})
    far = ctx(stats={"slo-fast": (400.0, 1.0, 100), "slo-slow": (900.0, 1.0, 100)})
    assert ask(FLEET, "latency", close).confidence == pytest.approx(ask(FLEET, "latency", far).confidence / 2, abs=1e-3)


def test_a_declared_availability_under_the_floor_leaves_a_provider_out_until_observed():
    fleet = [provider("promises-little", latency_ms=100, availability=0.7), provider("steady", latency_ms=900,
                                                                                      availability=0.999)]
    d = ask(fleet, "latency")
    assert d.provider.name == "steady"
    assert dict(d.excluded)["promises-little"] == (
        "declared availability 70.0% < floor 80% (SLO; 0 outcomes < 20 needed)")
    few = ctx(stats={"promises-little": (100.0, 1.0, 19)})
    assert dict(ask(fleet, "latency", few).excluded)["promises-little"].endswith("(SLO; 19 outcomes < 20 needed)")
    # enough outcomes: what was observed decides, either way
    seen = ctx(stats={"promises-little": (100.0, 0.99, 20)})
    assert ask(fleet, "latency", seen).provider.name == "promises-little"
    broken = ctx(stats={"steady": (900.0, 0.5, 40)})
    d = ask([provider("steady", latency_ms=900, availability=0.999), provider("other", latency_ms=950)], "latency",
            broken)
    assert d.provider.name == "other" and dict(d.excluded)["steady"].startswith("success rate 50% < floor")


def test_a_declared_availability_counts_only_where_the_floor_does():
    fleet = [provider("promises-little", inp="1", availability=0.5), provider("dear", inp="9")]
    assert ask(fleet, "cost").provider.name == "promises-little"
    assert ask(fleet, "balanced").provider.name == "dear"
    assert ask([provider("promises-little", inp="1", availability=0.8)], "latency").excluded == ()  # at the floor
