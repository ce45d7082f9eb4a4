"""Prompt-cache prices through POST /register: accepted per token or per million tokens, shown
exactly, kept by the store, carried by the registry snapshot to the gateway's view; a wrong one
is a 400 naming the field and registers nothing."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from services.common import jsonio
from services.gateway.registry_view import RegistryView
from tests.integration.router.router_support import assert_error, provider, register

PER_MTOK = {"cache_read_per_mtok": "0.30", "cache_write_per_mtok": "3.75"}


async def test_per_million_cache_prices_are_shown_exactly_in_both_forms(client: httpx.AsyncClient):
    body = provider("claude", model="claude-sonnet", input_per_mtok="3", output_per_mtok="15",
                    api_format="anthropic", **PER_MTOK)
    resp = await client.post("/register", json=body)
    assert resp.status_code == 201, resp.text
    shown = await client.get("/providers/claude")  # the stored copy
    for text in (resp.text, shown.text):
        assert '"cache_read_per_mtok":0.3,' in text and '"cache_write_per_mtok":3.75,' in text
        assert '"cost_per_cache_read_input_token":0.0000003,' in text
        assert '"cost_per_cache_creation_input_token":0.00000375,' in text


async def test_per_token_cache_prices_are_accepted_as_numbers_or_strings(client: httpx.AsyncClient):
    body = {"name": "gpt4o", "model": "gpt-4o", "context_window": 128_000, "endpoint": "http://sim.local:8100",
            "cost_per_input_token": 0.0000025, "cost_per_output_token": "0.00001",
            "cost_per_cache_read_input_token": 0.00000125}
    p = (await register(client, body))["provider"]
    assert p["cache_read_per_mtok"] == 1.25 and p["cost_per_cache_read_input_token"] == 0.00000125
    assert p["cache_write_per_mtok"] is None and p["cost_per_cache_creation_input_token"] is None


async def test_the_snapshot_carries_them_to_the_gateway_exactly(client: httpx.AsyncClient):
    await register(client, provider("claude", model="claude-sonnet", input_per_mtok="3", output_per_mtok="15",
                                    **PER_MTOK))
    await register(client, provider("plain", input_per_mtok="3", output_per_mtok="15"))
    resp = await client.get("/registry/snapshot")
    assert resp.status_code == 200, resp.text
    view = RegistryView.from_snapshot(jsonio.loads_exact(resp.content))
    got = {p.name: p for p in view.providers}
    assert got["claude"].cache_read_per_token == Decimal("0.0000003")
    assert got["claude"].cache_write_per_token == Decimal("0.00000375")
    assert got["claude"].input_cost(1_000_000, 800_000, 100_000) == Decimal("0.915000")
    assert got["plain"].cache_read_per_token is None and got["plain"].cache_write_per_token is None
    assert got["plain"].input_cost(1_000_000, 800_000, 100_000) == Decimal("3.000000")


async def test_a_one_hour_write_price_is_shown_stored_and_carried_to_the_gateway(client: httpx.AsyncClient):
    body = provider("claude", model="claude-sonnet", input_per_mtok="3", output_per_mtok="15",
                    api_format="anthropic", **PER_MTOK, cache_write_1h_per_mtok="6")
    resp = await client.post("/register", json=body)
    assert resp.status_code == 201, resp.text
    shown = await client.get("/providers/claude")
    for text in (resp.text, shown.text):
        assert '"cache_write_1h_per_mtok":6,' in text and '"cost_per_cache_creation_1h_input_token":0.000006,' in text
    await register(client, {"name": "claude-tok", "model": "claude-sonnet", "context_window": 200_000,
                            "endpoint": "http://sim.local:8100", "cost_per_input_token": "0.000003",
                            "cost_per_output_token": "0.000015", "cost_per_cache_creation_1h_input_token": 0.000006})
    view = RegistryView.from_snapshot(jsonio.loads_exact((await client.get("/registry/snapshot")).content))
    got = {p.name: p for p in view.providers}
    assert got["claude"].cache_write_1h_per_token == got["claude-tok"].cache_write_1h_per_token == Decimal("0.000006")
    # 700,000 read, 200,000 written of which 50,000 for an hour, 100,000 plain
    assert got["claude"].input_cost(1_000_000, 700_000, 200_000, 50_000) == Decimal("1.372500")
    # no read or write price: the 150,000 5-minute writes and the reads at $3, the 50,000 at $6
    assert got["claude-tok"].input_cost(1_000_000, 700_000, 200_000, 50_000) == Decimal("3.150000")
    p = (await register(client, provider("claude", **PER_MTOK), status=200))["provider"]
    assert p["cache_write_1h_per_mtok"] is None and p["cost_per_cache_creation_1h_input_token"] is None


async def test_re_registering_without_cache_prices_drops_them(client: httpx.AsyncClient):
    await register(client, provider("claude", **PER_MTOK))
    p = (await register(client, provider("claude"), status=200))["provider"]
    assert p["cache_read_per_mtok"] is None and p["cache_write_per_mtok"] is None


@pytest.mark.parametrize(("extra", "field"), [
    ({"cache_read_per_mtok": -0.1}, "cache_read_per_mtok"),
    ({"cache_write_per_mtok": "-3.75"}, "cache_write_per_mtok"),
    ({"cache_write_per_mtok": "pricey"}, "cache_write_per_mtok"),
    ({"cache_read_per_mtok": True}, "cache_read_per_mtok"),
    ({"cache_read_per_mtok": None}, "cache_read_per_mtok"),
    ({"cost_per_cache_read_input_token": "0.0000003"}, "cost_per_cache_read_input_token"),  # other form
    ({"cache_write_1h_per_mtok": "-6"}, "cache_write_1h_per_mtok"),
    ({"cache_write_1h_per_mtok": "twice"}, "cache_write_1h_per_mtok"),
    ({"cache_write_1h_per_mtok": False}, "cache_write_1h_per_mtok"),
    ({"cost_per_cache_creation_1h_input_token": "0.000006"}, "cost_per_cache_creation_1h_input_token"),  # other form
])
async def test_a_wrong_cache_price_is_a_400_naming_it(client: httpx.AsyncClient, extra: dict[str, object],
                                                      field: str):
    resp = await client.post("/register", json=provider("claude", **extra))
    assert_error(resp, 400, field=field)
    assert (await client.get("/providers?include_inactive=true")).json()["count"] == 0


@pytest.mark.parametrize(("extra", "field"), [
    ({"cost_per_cache_read_input_token": -1}, "cost_per_cache_read_input_token"),
    ({"cost_per_cache_creation_input_token": "1e-6"}, "cost_per_cache_creation_input_token"),
    ({"cache_write_per_mtok": "3.75"}, "cache_write_per_mtok"),  # other form
    ({"cost_per_cache_creation_1h_input_token": -0.000006}, "cost_per_cache_creation_1h_input_token"),
    ({"cache_write_1h_per_mtok": "6"}, "cache_write_1h_per_mtok"),  # other form
])
async def test_a_wrong_per_token_cache_price_is_a_400_naming_it(client: httpx.AsyncClient,
                                                                extra: dict[str, object], field: str):
    body = {"name": "gpt4o", "model": "gpt-4o", "context_window": 128_000, "endpoint": "http://sim.local:8100",
            "cost_per_input_token": "0.0000025", "cost_per_output_token": "0.00001", **extra}
    assert_error(await client.post("/register", json=body), 400, field=field)
