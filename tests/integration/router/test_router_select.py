"""POST /select: cost, latency and balanced choices, explained, with at most two alternatives."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
import pytest

from services.common import contracts
from tests.integration.router.router_support import assert_error, provider, register

GPT4 = {"requirements": {"model": "gpt-4", "context_window": 4000}}


@pytest.fixture
async def fleet(client: httpx.AsyncClient) -> httpx.AsyncClient:
    await register(client, provider("cheap", input_per_mtok="10", output_per_mtok="30", latency_ms=3000))
    await register(client, provider("fast", input_per_mtok="20", output_per_mtok="40", latency_ms=300))
    await register(client, provider("middle", input_per_mtok="12", output_per_mtok="32", latency_ms=600))
    await register(client, provider("pricey", input_per_mtok="60", output_per_mtok="120", latency_ms=2000))
    await register(client, provider("small", input_per_mtok="1", output_per_mtok="1", context_window=2048))
    await register(client, provider("claude", model="claude-3", input_per_mtok="3", output_per_mtok="15"))
    return client


async def decide(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    resp = await client.post("/select", json=body)
    assert resp.status_code == 200, resp.text
    decision: dict[str, Any] = resp.json()
    jsonschema.validate(decision, contracts.schema("routing_decision"))
    assert len(decision["alternatives"]) <= 2
    return decision


async def test_cost_picks_the_cheapest_and_says_why(fleet: httpx.AsyncClient):
    d = await decide(fleet, {**GPT4, "optimization": "cost", "estimated_input_tokens": 1000,
                             "max_output_tokens": 500})
    assert d["provider"] == "cheap" and d["strategy"] == "cost"
    assert d["estimated_cost_usd"] == 0.025  # 1000 * 10/1e6 + 500 * 30/1e6
    assert "cheapest" in d["reason"] and "$0.025" in d["reason"]
    assert [a["provider"] for a in d["alternatives"]] == ["middle", "fast"]
    excluded = {e["provider"]: e["reason"] for e in d["excluded"]}
    assert "context window" in excluded["small"] and "claude-3" in excluded["claude"]


async def test_latency_picks_the_fastest_slo(fleet: httpx.AsyncClient):
    d = await decide(fleet, {**GPT4, "optimization": "latency"})
    assert d["provider"] == "fast" and d["estimated_latency_ms"] == 300
    assert "300 ms" in d["reason"]
    assert [a["provider"] for a in d["alternatives"]] == ["middle", "pricey"]


async def test_balanced_weighs_cost_and_latency(fleet: httpx.AsyncClient):
    d = await decide(fleet, {**GPT4, "optimization": "balanced"})
    assert d["provider"] == "middle" and d["strategy"] == "balanced"
    assert "balance" in d["reason"] and "score" in d["reason"]
    assert len(d["alternatives"]) == 2


async def test_default_optimization_comes_from_settings(fleet: httpx.AsyncClient):
    d = await decide(fleet, GPT4)
    assert d["strategy"] == "cost" and d["provider"] == "cheap"


async def test_exclude_and_pin(fleet: httpx.AsyncClient):
    d = await decide(fleet, {**GPT4, "exclude": ["cheap"]})
    assert d["provider"] == "middle"
    d = await decide(fleet, {"requirements": {"provider": "pricey"}})
    assert d["provider"] == "pricey" and d["alternatives"] == []


async def test_soft_deleted_providers_are_never_chosen(fleet: httpx.AsyncClient):
    await fleet.delete("/providers/cheap")
    d = await decide(fleet, GPT4)
    assert d["provider"] == "middle"
    assert "cheap" not in [a["provider"] for a in d["alternatives"]]


async def test_nothing_matches_is_a_404_saying_what_was_asked(fleet: httpx.AsyncClient):
    err = assert_error(await fleet.post("/select", json={"requirements": {"model": "gpt-9"}}), 404)
    assert err["type"] == "no_provider"
    assert "gpt-9" in err["message"]
    err = assert_error(await fleet.post("/select", json={"requirements": {"model": "gpt-4",
                                                                          "features": ["vision"]}}), 404)
    assert "vision" in err["message"]


async def test_empty_registry_says_so(client: httpx.AsyncClient):
    err = assert_error(await client.post("/select", json={}), 404)
    assert "no providers are registered" in err["message"]


async def test_select_keeps_one_prepared_catalog_until_the_registry_changes(app, fleet: httpx.AsyncClient):
    ctx = app.state.router_context
    first = await decide(fleet, {**GPT4, "optimization": "cost"})
    kept, _ = ctx.prepared()
    assert (await decide(fleet, {**GPT4, "optimization": "latency"}))["provider"] == "fast"
    assert ctx.prepared()[0] is kept  # the same providers: prepared once
    await register(fleet, provider("cheapest", input_per_mtok="1", output_per_mtok="2"))
    assert (await decide(fleet, {**GPT4, "optimization": "cost"}))["provider"] == "cheapest" != first["provider"]
    assert ctx.prepared()[0] is not kept  # a registration moves the registry version: prepared afresh
