"""The preset rules file (examples/routing/presets.yaml: budget, vision, quality, fast) loads the
way the router loads TOLLWAY_ROUTING_CONFIG, and routes a request by each preset over the example
providers (examples/routing/providers.json); a request no preset fits goes by its strategy."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from services.common.registry.provider import Provider
from services.common.selection.config import RoutingConfig
from services.common.selection.context import RoutingContext
from services.common.selection.decide import select
from services.common.selection.request import SelectionRequest
from services.router.routing.config_file import read_routing_file
from services.router.store.codec import encode_entry, routing_config

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "routing"
PROVIDERS = [Provider.from_json(p) for p in json.loads((EXAMPLES / "providers.json").read_text())["providers"]]


def presets() -> RoutingConfig:
    rows = read_routing_file(EXAMPLES / "presets.yaml")
    return RoutingConfig.from_json(routing_config(1, [(k, n, encode_entry(b)) for k, n, b in rows]))


def chat(text: str, max_tokens: int | None = None, image: bool = False) -> dict:
    content: object = text
    if image:
        content = [{"type": "text", "text": text}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]
    payload: dict = {"messages": [{"role": "user", "content": content}]}
    if max_tokens is not None:
        payload["max_tokens"] = max_tokens
    return payload


def route(payload: dict, *, max_cost_usd: str | None = None, seed: int = 1):
    body = {"payload": payload, "optimization": "cost",
            "requirements": {} if max_cost_usd is None else {"max_cost_usd": max_cost_usd}}
    request = SelectionRequest.from_json(body)
    return select(PROVIDERS, request, RoutingContext(config=presets(), rng=random.Random(seed)))


LONG_PROMPT = "Summarise the following notes. " + "The quarterly figures moved in both directions. " * 200


@pytest.mark.parametrize(("preset", "payload", "limit", "preferred"), [
    ("budget", chat("hi", max_tokens=100), "0.001", {"openai-mini", "anthropic-haiku", "groq-llama"}),
    ("vision", chat("what is in this picture?", max_tokens=100, image=True), None,
     {"anthropic-sonnet", "openai-gpt4o", "openai-gpt4-turbo"}),
    ("quality", chat("write the full design document", max_tokens=8000), None,
     {"anthropic-sonnet", "openai-gpt4-turbo", "openai-gpt4o"}),
    ("fast", chat("ping", max_tokens=64), None, {"groq-llama", "anthropic-haiku", "openai-mini"}),
])
def test_each_preset_routes_a_request_it_fits(preset, payload, limit, preferred):
    d = route(payload, max_cost_usd=limit)
    assert d.rule == preset and d.provider.name in preferred
    assert d.reason.startswith(f"rule {preset}: {d.provider.name} (weight ")
    # the other preferred providers come next, then the rest by the strategy
    assert {c.name for c in d.ranked[:len(preferred)]} == preferred


def test_the_presets_weights_share_out_the_draws():
    picks = [route(chat("ping", max_tokens=64), seed=s).provider.name for s in range(300)]
    # fast: groq-llama 50, anthropic-haiku 30, openai-mini 20
    assert picks.count("groq-llama") > picks.count("anthropic-haiku") > picks.count("openai-mini") > 0


@pytest.mark.parametrize(("payload", "why"), [
    (chat(LONG_PROMPT, max_tokens=64), "a prompt past 500 tokens is not fast"),
    (chat("ping"), "no max_tokens: the default estimate of 500 is past fast's 256"),
    (chat("ping", max_tokens=1000), "between fast's 256 and quality's 4096"),
])
def test_a_request_no_preset_fits_goes_by_its_strategy(payload, why):
    d = route(payload)
    assert d.rule is None, why
    assert d.provider.name == "openai-mini"  # the cheapest of the example fleet


def test_budget_is_tried_before_fast_when_both_fit():
    assert route(chat("ping", max_tokens=64)).rule == "fast"
    # the same short exchange under a budget cap: budget comes first (order 10 before 40)
    assert route(chat("ping", max_tokens=64), max_cost_usd="0.001").rule == "budget"
