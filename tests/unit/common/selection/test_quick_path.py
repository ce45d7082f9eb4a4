"""The quick path over a prepared catalog (prepared.py: kept pools, shortlists, a ranking whose
rest is sorted when read) decides exactly what the full path decides (decide.full: every
eligible provider scored and sorted, the reference): the same choice, the same alternatives in
the same order, the same reason, confidence and exclusions, for every strategy, on random
fleets where prices, latencies, windows and priorities tie often."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.errors import TollwayError
from services.common.registry.provider import Provider
from services.common.selection.catalog import Catalog
from services.common.selection.config import RoutingConfig
from services.common.selection.context import RoutingContext, Turns
from services.common.selection.decide import full, plan, select
from services.common.selection.decision import Decision
from services.common.selection.observed import Observed, ProviderStats
from services.common.selection.prepared import quick_ranking
from services.common.selection.ranked import HEAD, Ranked
from services.common.selection.request import STRATEGIES, Requirements, SelectionRequest, Weights
from tests.unit.common.selection.fleet import NOW, provider

MODELS = ("m1", "m2", "m3")
FEATURES = ("vision", "function_calling", "json_mode")
NEEDS = (frozenset(),) * 4 + tuple(frozenset({f}) for f in FEATURES)
# the last price is finer than a femto-dollar per token: a Decimal cost, and no strict dominance
PRICES = ("0", "1", "2.5", "10", "10", "30", "0.0000000003")
WINDOWS = (4096, 8192, 32_000, 128_000)
REGIONS = (None, "us", "eu")
TARGETS = (None, None, None, *MODELS, "family", "fast-family", "dear-family",
           "tollway/auto", "tollway/auto-cost", "tollway/auto-quality",
           "tollway/auto-latency", "nobody")
PAYLOADS = (None, None, {"messages": [{"role": "user", "content": "hi"}]},
            {"messages": [{"role": "user", "content": "prove it step by step: def f(x): return x"}]},
            {"messages": [{"role": "user", "content": "compare"}], "tools": [{"type": "function"}], "stream": True})
# a rule that never matches here (no request carries a key) and an experiment on m3's requests
# and aliases whose routes rank by smart in a variant (strategy left out, or named)
CONFIG = {"aliases": {"family": {"models": ["m1", "m2"]}, "fast-family": {"models": ["m1", "m2", "m3"]},
                      "dear-family": {"models": ["m1", "m2", "m3"]}},
          "routes": {"fast": {"model": "fast-family", "smart_mode": "auto-latency"},
                     "dear": {"model": "dear-family", "strategy": "smart", "smart_mode": "auto-quality"}},
          "rules": {"vip": {"when": {"keys": ["vip"]}, "prefer": [{"provider": "p0"}]}},
          "experiments": {"m3-split": {"model": "m3", "arms": [{"name": "a", "percent": 50, "provider": "p1"},
                                                              {"name": "b", "percent": 50, "model": "m3"}]}}}
TIERS = {"smart": {"tiers": {"simple": ["m1"], "complex": ["m3"]}}}  # m2 in no tier


def provider_specs(prices: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({
        "model": st.sampled_from(MODELS), "inp": st.sampled_from(prices), "out": st.sampled_from(prices),
        "latency_ms": st.sampled_from((None, 100.0, 250.0, 250.0, 900.0)), "context_window": st.sampled_from(WINDOWS),
        "availability": st.sampled_from((None, None, 0.5, 0.99)),
        "throughput_tps": st.sampled_from((None, None, None, 100.0, 300.0, 1000.0)),
        "features": st.sets(st.sampled_from(FEATURES)), "region": st.sampled_from(REGIONS),
        "priority": st.integers(1, 3), "active": st.booleans() | st.just(True), "no_streaming": st.booleans(),
        "stats": st.none() | st.tuples(st.sampled_from((None, 80.0, 250.0)), st.sampled_from((0.5, 0.95)),
                                       st.sampled_from((0, 5, 30))),
    })


def _lists(prices: tuple[str, ...]) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(provider_specs(prices), min_size=1, max_size=24) | st.lists(provider_specs(prices), min_size=8,
                                                                               max_size=24)


# all prices, or one or two: then many providers tie and only the tie-break order tells them apart
fleets = st.sampled_from((PRICES, PRICES, ("10",), ("1", "10"))).flatmap(_lists)


def _fleet(specs: list[dict[str, Any]]) -> tuple[list[Provider], Observed]:
    fleet, stats = [], {}
    for i, s in enumerate(specs):
        name = f"p{i % 9}{'x' * (i // 9)}"
        p = provider(name, model=s["model"], inp=s["inp"], out=s["out"], latency_ms=s["latency_ms"],
                     context_window=s["context_window"], features=tuple(s["features"]), region=s["region"],
                     availability=s["availability"], throughput_tps=s["throughput_tps"],
                     priority=s["priority"], tags=["no-streaming"] if s["no_streaming"] else [])
        fleet.append(p if s["active"] else p.touched(NOW, active=False))
        if s["stats"] is not None:
            stats[name] = ProviderStats(*s["stats"])
    return fleet, Observed(min_samples=20, providers=stats)


@dataclass
class Asked:
    """One request and what its caller knows (in flight, unavailable, its region)."""

    request: SelectionRequest
    in_flight: dict[str, int]
    unavailable: dict[str, str]
    region: str | None

    def context(self, config: RoutingConfig, observed: Observed, turns: Turns) -> RoutingContext:
        return RoutingContext(config=config, observed=observed, in_flight=self.in_flight,
                              unavailable=self.unavailable, turns=turns, rng=random.Random(3), region=self.region)


def _asked(draw: st.DrawFn, names: list[str]) -> Asked:
    few = st.just(set()) | st.sets(st.sampled_from(names), max_size=2)
    many = st.sets(st.sampled_from(names), min_size=min(9, len(names)))  # past a view's few: a pool without them
    weight = draw(st.none() | st.floats(0.0, 1.0))
    requirements = Requirements(
        model=draw(st.sampled_from(TARGETS)), features=draw(st.sampled_from(NEEDS)),
        provider=draw(st.sampled_from((None,) * 8 + tuple(names[:2]))), region=draw(st.sampled_from(REGIONS)),
        weights=None if weight is None else Weights(weight, 1 - weight),
        context_window=draw(st.sampled_from((0, 0, 0, 8192))))
    request = SelectionRequest(requirements, draw(st.sampled_from(STRATEGIES)),
                               draw(st.integers(1, 3_000) | st.integers(1, 40_000)), draw(st.integers(1, 2_000)),
                               frozenset(draw(few)), draw(st.sampled_from(PAYLOADS)))
    return Asked(request, {n: draw(st.integers(0, 3)) for n in draw(st.sets(st.sampled_from(names)))},
                 {n: "circuit open" for n in draw(few | many)}, draw(st.sampled_from(REGIONS)))


Outcome = Decision | tuple[type, str]


def _quick(catalog: Catalog, request: SelectionRequest, ctx: RoutingContext) -> Outcome:
    try:
        return select(catalog, request, ctx)
    except TollwayError as exc:
        return type(exc), str(exc)


def _full(catalog: Catalog, request: SelectionRequest, ctx: RoutingContext) -> Outcome:
    try:
        return full(catalog, *plan(request, ctx))
    except TollwayError as exc:
        return type(exc), str(exc)


def _same(quick: Outcome, reference: Outcome) -> None:
    if not isinstance(reference, Decision) or not isinstance(quick, Decision):
        assert quick == reference
        return
    if isinstance(quick.ranked, Ranked):  # the head, worked out without sorting the rest: complete and exact
        head = quick.ranked.head
        assert len(head) == min(HEAD + (quick.strategy == "failover"), len(reference.ranked))
        assert list(head) == list(reference.ranked[:len(head)])
    assert (quick.reason, quick.confidence, quick.excluded, quick.strategy, quick.complexity) == \
           (reference.reason, reference.confidence, reference.excluded, reference.strategy, reference.complexity)
    assert len(quick.ranked) == len(reference.ranked)
    assert list(quick.ranked) == list(reference.ranked)  # the rest, sorted when read
    assert quick.to_json() == reference.to_json()


@settings(max_examples=400, deadline=None)
@given(specs=fleets, tiers=st.booleans(), data=st.data())
def test_the_quick_path_decides_exactly_as_the_full_path(specs, tiers, data):
    fleet, observed = _fleet(specs)
    config = RoutingConfig.from_json({**CONFIG, **(TIERS if tiers else {})})
    catalog = Catalog(fleet, observed)  # one catalog for several requests: its kept pools are reused
    turns_quick, turns_full, turns_probe = Turns(), Turns(), Turns()  # round-robin turns move in step
    names = sorted({p.name for p in fleet})
    for _ in range(data.draw(st.integers(1, 4))):
        asked = _asked(data.draw, names)
        quick = _quick(catalog, asked.request, asked.context(config, observed, turns_quick))
        reference = _full(catalog, asked.request, asked.context(config, observed, turns_full))
        _same(quick, reference)
        probe = asked.context(config, observed, turns_probe)
        if isinstance(reference, Decision) and asked.request.requirements.model != "m3":  # no experiment: quick
            assert quick_ranking(catalog, *plan(asked.request, probe)) is not None


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_thousand_tied_providers_keep_the_tie_break_order(strategy):
    fleet = [provider(f"p{i:04d}", inp="10", out="30", latency_ms=200, priority=i % 7, region="eu")
             for i in range(1000)]
    observed = Observed()
    catalog = Catalog(fleet, observed)
    asked = Asked(SelectionRequest(Requirements(region="eu"), strategy, 1000, 500, frozenset({"p0000", "p0007"})),
                  {}, {}, None)
    quick = _quick(catalog, asked.request, asked.context(RoutingConfig(), observed, Turns()))
    _same(quick, _full(catalog, asked.request, asked.context(RoutingConfig(), observed, Turns())))
    assert isinstance(quick, Decision) and quick.choice.cost == Decimal("0.025000")
