"""Capability: aliases and model families, the context the request needs, and the features
detected from the request itself (image parts, tools, json mode, streaming)."""

from __future__ import annotations

import pytest

from services.common.errors import NoProviderMatches
from services.common.selection.features import detect
from tests.unit.common.selection.fleet import ask, ctx, names, provider, user

IMAGE = {"messages": [{"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                                   {"type": "image_url", "image_url": {"url": "data:,"}}]}]}
FLEET = [provider("small", model="gpt-4o-mini", inp="0.15", out="0.6", context_window=16_000),
         provider("big", model="gpt-4o", inp="2.5", out="10", context_window=128_000,
                  features=("vision", "tools", "json_mode")),
         provider("claude", model="claude-3", inp="3", out="15", context_window=200_000, features=("vision",)),
         provider("batch", model="gpt-4o-mini", inp="0.1", out="0.4", context_window=16_000, tags=["no-streaming"])]


@pytest.mark.parametrize(("payload", "found"), [
    (IMAGE, {"vision"}),
    (user("hi", tools=[{"type": "function", "function": {"name": "f"}}]), {"function_calling"}),
    (user("hi", response_format={"type": "json_object"}), {"json_mode"}),
    (user("hi", response_format={"type": "text"}), set()),
    (user("hi", stream=True), {"streaming"}),
    (user("hi"), set()),
])
def test_features_are_detected_from_the_request(payload, found):
    assert detect(payload) == found


def test_a_detected_feature_leaves_out_who_lacks_it_whatever_the_strategy():
    for strategy in ("cost", "latency", "round_robin", "failover"):
        d = ask(FLEET, strategy, payload=IMAGE)
        assert set(names(d)) == {"big", "claude"}
        assert dict(d.excluded)["small"] == "lacks vision"


def test_streaming_is_offered_unless_a_provider_opts_out():
    d = ask(FLEET, "cost", payload=user("hi", stream=True), model="gpt-4o-mini")
    assert names(d) == ["small"] and dict(d.excluded)["batch"] == "lacks streaming"


def test_an_alias_serves_any_model_of_its_family():
    family = ctx({"aliases": {"gpt-family": {"models": ["gpt-4o", "gpt-4o-mini"]}}})
    d = ask(FLEET, "cost", family, model="gpt-family")
    assert set(names(d)) == {"small", "big", "batch"}
    assert dict(d.excluded)["claude"] == "serves claude-3, not gpt-family"


def test_capability_picks_the_tightest_context_that_fits():
    d = ask(FLEET, "capability", input_tokens=20_000, output_tokens=1000)
    assert names(d) == ["big", "claude"]  # the 16k windows cannot hold 21k tokens
    assert "tightest fit: context window 128000 for ~21000 tokens" in d.reason
    assert dict(d.excluded)["small"] == "context window 16000 < 21000 tokens needed"


def test_nothing_capable_says_what_was_needed():
    with pytest.raises(NoProviderMatches, match="features function_calling, vision"):
        ask(FLEET, "capability", payload={**IMAGE, "tools": [{"type": "function"}]}, model="claude-3")
