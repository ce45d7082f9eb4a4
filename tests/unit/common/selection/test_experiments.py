"""A/B splits: arms by percentage, converging to their shares; sticky per key; the experiment
and arm in the decision; an arm with nothing eligible falls back and says so."""

from __future__ import annotations

from collections import Counter

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common import contracts
from services.common.errors import InvalidRequest
from services.common.selection.ab_split import bucket
from services.common.selection.config import check_entry
from tests.unit.common.selection.fleet import ask, ctx, names, provider

FLEET = [provider("gpt-a", inp="10"), provider("gpt-b", inp="12"), provider("claude", model="claude-3", inp="3")]


def split(percent_a: float, *, sticky: bool = False, model: str | None = "gpt-4") -> dict:
    body: dict = {"sticky": sticky, "arms": [{"name": "control", "provider": "gpt-a", "percent": percent_a},
                                             {"name": "treatment", "provider": "gpt-b",
                                              "percent": 100 - percent_a}]}
    if model:
        body["model"] = model
    return {"experiments": {"exp1": body}}


@settings(max_examples=20, deadline=None)
@given(percent=st.integers(5, 95), seed=st.integers(0, 2**32))
def test_random_splits_converge_to_their_percentages(percent, seed):
    shared = ctx(split(percent), seed=seed)
    n = 4000
    arms = Counter(ask(FLEET, "cost", shared, model="gpt-4").experiment[1] for _ in range(n))
    # 5 standard deviations of a binomial share: a fair split fails this about once in 3 million
    tolerance = 5 * (percent / 100 * (1 - percent / 100) / n) ** 0.5
    assert abs(arms["control"] / n - percent / 100) < tolerance


@settings(max_examples=10, deadline=None)
@given(percent=st.integers(5, 95), salt=st.text(min_size=1, max_size=8))
def test_sticky_splits_converge_over_many_keys_and_never_move_a_key(percent, salt):
    shared = ctx(split(percent, sticky=True))
    n = 4000
    first = {f"{salt}-{i}": ask(FLEET, "cost", shared, model="gpt-4", key=f"{salt}-{i}").experiment[1]
             for i in range(n)}
    share = sum(1 for arm in first.values() if arm == "control") / n
    assert abs(share - percent / 100) < 5 * (percent / 100 * (1 - percent / 100) / n) ** 0.5
    for key in list(first)[:50]:
        assert ask(FLEET, "cost", shared, model="gpt-4", key=key).experiment[1] == first[key]


def test_bucket_is_stable_and_depends_on_the_experiment():
    assert bucket("e", "k") == bucket("e", "k")
    assert len({bucket(f"e{i}", "k") for i in range(20)}) > 15


def test_the_arm_goes_first_then_the_rest_as_fallbacks_and_the_decision_names_them():
    d = ask(FLEET, "cost", ctx(split(0)), model="gpt-4")  # everything to treatment
    assert d.experiment == ("exp1", "treatment") and names(d) == ["gpt-b", "gpt-a"]
    body = d.to_json()
    jsonschema.validate(body, contracts.schema("routing_decision"))
    assert body["experiment"] == {"name": "exp1", "arm": "treatment"}
    assert "experiment exp1 (control 0%/treatment 100%): arm treatment (random draw)" in d.reason


def test_a_request_can_name_an_experiment_and_an_arm_may_be_a_model():
    config = {"experiments": {"models": {"arms": [{"name": "claude", "model": "claude-3", "percent": 100}]}}}
    d = ask(FLEET, "cost", ctx(config), experiment="models")
    assert d.provider.name == "claude" and d.experiment == ("models", "claude")
    with pytest.raises(InvalidRequest, match="no experiment named 'nope'"):
        ask(FLEET, "cost", ctx(config), experiment="nope")


def test_an_arm_with_nothing_eligible_falls_back_without_recording_the_experiment():
    d = ask(FLEET, "cost", ctx(split(100)), model="gpt-4", exclude=("gpt-a",))
    assert d.experiment is None and d.provider.name == "gpt-b"
    assert "arm control (random draw) has no eligible provider" in d.reason


def test_ab_strategy_says_when_no_experiment_applies():
    d = ask(FLEET, "ab", ctx(split(50, model=None)), model="gpt-4")
    assert d.experiment is None and "no experiment applies to this request" in d.reason


@pytest.mark.parametrize(("arms", "message"), [
    ([{"name": "a", "provider": "x", "percent": 60}, {"name": "b", "provider": "y", "percent": 30}], "add up to 90"),
    ([{"name": "a", "provider": "x", "percent": 50}, {"name": "a", "provider": "y", "percent": 50}], "unique"),
    ([{"name": "a", "provider": "x", "model": "m", "percent": 100}], "exactly one of provider or model"),
    ([{"name": "a", "percent": 100}], "exactly one of provider or model"),
    ([{"name": "a", "strategy": "ab", "percent": 100}], "strategy must be one of"),
    ([{"name": "a", "strategy": "fastest-ever", "percent": 100}], "strategy must be one of"),
])
def test_experiments_that_cannot_split_are_refused(arms, message):
    with pytest.raises(InvalidRequest, match=message):
        check_entry("experiments", "e", {"arms": arms})


def strategy_split(percent_cost: float, **extra) -> dict:
    return {"experiments": {"swarm": {"model": "gpt-4", "arms": [
        {"name": "cost", "strategy": "cost", "percent": percent_cost},
        {"name": "latency", "strategy": "latency", "percent": 100 - percent_cost, **extra}]}}}


SLOW_CHEAP = [provider("cheap", inp="1", latency_ms=900), provider("quick", inp="5", latency_ms=100)]


def test_an_arm_may_be_a_strategy_that_ranks_every_eligible_provider():
    d = ask(SLOW_CHEAP, "cost", ctx(strategy_split(0)), model="gpt-4")  # everything to the latency arm
    assert d.experiment == ("swarm", "latency") and d.strategy == "latency"
    assert names(d) == ["quick", "cheap"]
    assert "experiment swarm (cost 0%/latency 100%): arm latency (random draw)" in d.reason
    d = ask(SLOW_CHEAP, "latency", ctx(strategy_split(100)), model="gpt-4")
    assert d.experiment == ("swarm", "cost") and d.strategy == "cost" and names(d) == ["cheap", "quick"]


def test_a_ninety_ten_strategy_split_sends_about_a_tenth_to_the_treatment():
    shared = ctx(strategy_split(90), seed=11)
    n = 4000
    decisions = [ask(SLOW_CHEAP, "cost", shared, model="gpt-4") for _ in range(n)]
    arms = Counter(d.experiment[1] for d in decisions)
    assert abs(arms["latency"] / n - 0.10) < 5 * (0.1 * 0.9 / n) ** 0.5
    assert all(d.provider.name == {"cost": "cheap", "latency": "quick"}[d.experiment[1]] for d in decisions)


def test_a_strategy_arm_may_also_name_a_model_and_spellings_are_accepted():
    fleet = [*SLOW_CHEAP, provider("claude", model="claude-3", inp="0.5", latency_ms=50)]
    config = {"experiments": {"e": {"arms": [{"name": "rr", "model": "gpt-4", "strategy": "Round-Robin",
                                              "percent": 100}]}}}
    check_entry("experiments", "e", config["experiments"]["e"])
    jsonschema.validate(config["experiments"]["e"], contracts.schema("routing_experiment"))
    d = ask(fleet, "cost", ctx(config), experiment="e")
    assert d.strategy == "round_robin" and d.provider.model == "gpt-4" and names(d)[-1] == "claude"
