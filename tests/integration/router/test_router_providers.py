"""GET /providers (filters), GET /providers/{name}, DELETE /providers/{name}, GET /stats."""

from __future__ import annotations

import httpx
import jsonschema
import pytest

from services.common import contracts
from tests.integration.router.router_support import README_PROVIDER, assert_error, provider, register


@pytest.fixture
async def fleet(client: httpx.AsyncClient) -> httpx.AsyncClient:
    await register(client, README_PROVIDER)  # 30/60 per Mtok, 8192, function_calling + vision
    await register(client, provider("cheap-gpt4", input_per_mtok="10", output_per_mtok="30",
                                    context_window=4096, features=("tools",)))
    await register(client, provider("big-claude", model="claude-3", input_per_mtok="3", output_per_mtok="15",
                                    context_window=200000, features=("vision",), api_format="anthropic"))
    await register(client, provider("gone", model="gpt-4", input_per_mtok="1", output_per_mtok="2"))
    assert (await client.delete("/providers/gone")).status_code == 200
    return client


def names(resp: httpx.Response) -> list[str]:
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["count"] == len(body["providers"])
    for p in body["providers"]:
        jsonschema.validate(p, contracts.schema("provider"))
    return [p["name"] for p in body["providers"]]


async def test_list_shows_active_providers_by_name(fleet: httpx.AsyncClient):
    assert names(await fleet.get("/providers")) == ["big-claude", "cheap-gpt4", "my-gpt4"]
    assert names(await fleet.get("/providers?include_inactive=true")) == [
        "big-claude", "cheap-gpt4", "gone", "my-gpt4"]


@pytest.mark.parametrize(("query", "expected"), [
    ("model=gpt-4", ["cheap-gpt4", "my-gpt4"]),
    ("model=gpt-4&include_inactive=true", ["cheap-gpt4", "gone", "my-gpt4"]),
    ("min_context=8192", ["big-claude", "my-gpt4"]),
    ("min_context=100000", ["big-claude"]),
    ("feature=vision", ["big-claude", "my-gpt4"]),
    ("feature=vision&feature=function_calling", ["my-gpt4"]),
    ("feature=tools", ["cheap-gpt4", "my-gpt4"]),  # alias of function_calling
    ("model=gpt-4&min_context=5000&feature=vision", ["my-gpt4"]),
    ("model=gpt-9", []),
])
async def test_filters(fleet: httpx.AsyncClient, query: str, expected: list[str]):
    assert names(await fleet.get(f"/providers?{query}")) == expected


@pytest.mark.parametrize(("query", "field"), [
    ("min_context=big", "min_context"),
    ("min_context=-1", "min_context"),
    ("min_context=1&min_context=2", "min_context"),
    ("include_inactive=maybe", "include_inactive"),
    ("model=", "model"),
    ("feature=", "feature"),
    ("modle=gpt-4", "modle"),
])
async def test_bad_filters_are_a_400_naming_the_parameter(fleet: httpx.AsyncClient, query: str, field: str):
    assert_error(await fleet.get(f"/providers?{query}"), 400, field=field)


async def test_show_one_provider_active_or_not(fleet: httpx.AsyncClient):
    resp = await fleet.get("/providers/my-gpt4")
    assert resp.status_code == 200
    jsonschema.validate(resp.json(), contracts.schema("provider"))
    assert resp.json()["input_per_mtok"] == 30
    gone = (await fleet.get("/providers/gone")).json()
    assert gone["active"] is False


async def test_unknown_provider_is_a_404_naming_it(fleet: httpx.AsyncClient):
    err = assert_error(await fleet.get("/providers/no-such-provider"), 404)
    assert "no-such-provider" in err["message"]
    err = assert_error(await fleet.delete("/providers/no-such-provider"), 404)
    assert "no-such-provider" in err["message"]


async def test_delete_is_a_soft_delete(fleet: httpx.AsyncClient):
    resp = await fleet.delete("/providers/cheap-gpt4")
    assert resp.status_code == 200
    assert resp.json() == {"name": "cheap-gpt4", "active": False}
    assert "cheap-gpt4" not in names(await fleet.get("/providers"))
    assert "cheap-gpt4" in names(await fleet.get("/providers?include_inactive=true"))
    snap = (await fleet.get("/registry/snapshot")).json()
    assert "cheap-gpt4" not in [p["name"] for p in snap["providers"]]


async def test_stats(fleet: httpx.AsyncClient):
    resp = await fleet.get("/stats")
    assert resp.status_code == 200
    stats = resp.json()
    assert stats["providers"] == {"total": 4, "active": 3, "inactive": 1}
    assert stats["models"] == {"claude-3": 1, "gpt-4": 2}
    assert stats["features"] == {"function_calling": 2, "vision": 2}
    prices = stats["prices"]
    assert prices["input_per_mtok"]["cheapest"] == {"provider": "big-claude", "model": "claude-3", "per_mtok": 3}
    assert prices["input_per_mtok"]["most_expensive"]["provider"] == "my-gpt4"
    assert prices["output_per_mtok"]["cheapest"]["per_mtok"] == 15
    assert prices["output_per_mtok"]["most_expensive"] == {"provider": "my-gpt4", "model": "gpt-4",
                                                           "per_mtok": 60}
    assert stats["version"] == (await fleet.get("/registry/snapshot")).json()["version"] == 5


async def test_stats_of_an_empty_registry(client: httpx.AsyncClient):
    stats = (await client.get("/stats")).json()
    assert stats["providers"] == {"total": 0, "active": 0, "inactive": 0}
    assert stats["prices"]["input_per_mtok"] == {"cheapest": None, "most_expensive": None}
    assert stats["version"] == 0
