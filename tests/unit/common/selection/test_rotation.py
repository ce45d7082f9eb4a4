"""Round-robin (fair rotation per pool), least-busy (caller's in-flight counts, per declared
throughput), failover (priority order), region (the caller's region first, the others after)."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.selection.catalog import Catalog
from services.common.selection.context import Turns
from services.common.selection.decide import select
from services.common.selection.request import SelectionRequest
from tests.unit.common.selection.fleet import ask, ctx, names, provider


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 9), rounds=st.integers(1, 6), prices=st.lists(st.integers(1, 50), min_size=9, max_size=9))
def test_round_robin_is_fair_whatever_the_prices(n, rounds, prices):
    fleet = [provider(f"p{i}", inp=str(prices[i])) for i in range(n)]
    shared = ctx()
    chosen = Counter(ask(fleet, "round_robin", shared).provider.name for _ in range(n * rounds))
    assert chosen == {p.name: rounds for p in fleet}


def test_round_robin_rotates_the_fallbacks_too_and_keeps_a_counter_per_pool():
    fleet = [provider("a"), provider("b"), provider("c"), provider("x", model="other")]
    shared = ctx()
    assert names(ask(fleet, "round_robin", shared, model="gpt-4")) == ["a", "b", "c"]
    assert names(ask(fleet, "round_robin", shared, model="gpt-4")) == ["b", "c", "a"]
    assert names(ask(fleet, "round_robin", shared, model="other")) == ["x"]  # its own counter
    d = ask(fleet, "round_robin", shared, model="gpt-4")
    assert names(d) == ["c", "a", "b"] and "turn 2, position 3" in d.reason


def test_turns_count_per_pool():
    turns = Turns()
    assert [turns.take("a"), turns.take("a"), turns.take("b")] == [0, 1, 0]


def test_least_busy_follows_the_in_flight_counts_then_cost():
    fleet = [provider("a", inp="1"), provider("b", inp="2"), provider("c", inp="3")]
    d = ask(fleet, "least_busy", ctx(in_flight={"a": 5, "b": 1, "c": 1}))
    assert names(d) == ["b", "c", "a"]
    assert d.reason.startswith("least busy: 1 in flight; next c 1") and d.confidence == 0.5
    assert ask(fleet, "least_busy", ctx(in_flight={"a": 2})).provider.name == "b"


def test_failover_follows_registered_priority():
    fleet = [provider("backup", priority=20, inp="1"), provider("primary", priority=1, inp="50"),
             provider("last", priority=90)]
    d = ask(fleet, "failover")
    assert names(d) == ["primary", "backup", "last"]
    assert d.reason == "failover by priority: primary (1) > backup (20) > last (90)"


def test_unavailable_providers_are_skipped_with_the_callers_reason():
    fleet = [provider("primary", priority=1), provider("backup", priority=2)]
    d = ask(fleet, "failover", ctx(unavailable={"primary": "circuit open"}))
    assert names(d) == ["backup"] and dict(d.excluded) == {"primary": "circuit open"}


FLEET_REGIONS = [provider("us-cheap", region="us", inp="1"), provider("eu-dear", region="eu", inp="9"),
                 provider("eu-cheap", region="eu", inp="5"), provider("nowhere", inp="0.5")]


def test_region_prefers_the_callers_region_then_falls_back():
    d = ask(FLEET_REGIONS, "region", region="eu")
    assert names(d) == ["eu-cheap", "eu-dear", "nowhere", "us-cheap"]
    assert "caller's region eu (2 of 4 eligible there)" in d.reason and d.confidence == 1.0
    d = ask(FLEET_REGIONS, "region", region="ap")
    assert d.provider.name == "nowhere" and "no eligible provider in ap" in d.reason


def test_region_comes_from_the_context_when_the_request_has_none():
    assert ask(FLEET_REGIONS, "region", ctx(region="us")).provider.name == "us-cheap"
    assert ask(FLEET_REGIONS, "region", ctx(region="us"), region="eu").provider.name == "eu-cheap"


def test_least_busy_weighs_in_flight_by_declared_throughput():
    # big sustains ten times small's tokens a second: 5 in flight there is less busy than 1 here
    fleet = [provider("small", inp="1", throughput_tps=100), provider("big", inp="2", throughput_tps=1000)]
    d = ask(fleet, "least_busy", ctx(in_flight={"small": 1, "big": 5}))
    assert names(d) == ["big", "small"]
    assert d.reason == ("least busy for its throughput: 5 in flight for 1000 tokens/s (declared); "
                        "next small 1 in flight for 100 tokens/s (declared)")
    assert ask(fleet, "least_busy", ctx(in_flight={"small": 1, "big": 11})).provider.name == "small"
    # equal loads (1/100 = 10/1000): the cheaper first, and the confidence says it was close
    d = ask(fleet, "least_busy", ctx(in_flight={"small": 1, "big": 10}))
    assert d.provider.name == "small" and d.confidence == 0.5


def test_a_provider_declaring_no_throughput_counts_as_the_smallest_declared():
    fleet = [provider("unstated", inp="1"), provider("small", inp="2", throughput_tps=100),
             provider("big", inp="3", throughput_tps=400)]
    d = ask(fleet, "least_busy", ctx(in_flight={"unstated": 1, "small": 1, "big": 3}))
    assert names(d) == ["big", "unstated", "small"]  # 3/400 < 1/100 = 1/100, then by cost
    assert "next unstated 1 in flight for 100 tokens/s (none declared: the smallest)" in d.reason
    # nobody declares: the raw counts, as before
    plain = [provider("a", inp="1"), provider("b", inp="2")]
    assert ask(plain, "least_busy", ctx(in_flight={"a": 1, "b": 0})).reason.startswith("least busy: 0 in flight")


def test_least_busy_over_a_prepared_catalog_decides_the_same():
    fleet = [provider(f"p{i}", inp=str(1 + i % 3), throughput_tps=(None, 100, 1000)[i % 3]) for i in range(12)]
    busy = {f"p{i}": i % 5 for i in range(12)}
    routing = ctx(in_flight=busy)
    quick = select(Catalog(fleet, routing.observed), SelectionRequest(optimization="least_busy"), routing)
    full = ask(fleet, "least_busy", ctx(in_flight=busy), input_tokens=1000, output_tokens=500)
    assert names(quick) == names(full) and quick.reason == full.reason
