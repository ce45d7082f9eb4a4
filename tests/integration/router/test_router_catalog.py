"""The price catalog at the router: GET /catalog lists and looks up; a registration without prices
is priced from it and says so (`priced_by`, `catalog_model`), in the store and the snapshot too;
prices given win; an unknown model without prices is a 400; the operator's file
(TOLLWAY_PRICE_CATALOG) overrides and extends it, and a wrong one stops the router at start."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.common.clock import FrozenClock
from services.common.pricing.catalog import PriceCatalogError
from services.common.settings import Settings
from services.router.app import create_app
from tests.integration.router.router_support import assert_error, register, serving

SIM = "http://sim.local:8100"
OPERATOR_ROWS = {"version": "acme-3", "models": [
    {"provider": "openai", "model": "gpt-4o", "input_per_mtok": "2"},
    {"provider": "acme", "model": "acme-large", "input_per_mtok": "0.7", "output_per_mtok": "2.1",
     "context_window": 32000},
]}


async def test_the_catalog_lists_its_rows_with_version_and_sources(client: httpx.AsyncClient):
    body = (await client.get("/catalog")).json()
    assert body["version"] == "2026-12-02" and body["count"] == len(body["models"]) == 115
    assert "00035b69f416be24e2e323c13198d9b7d2d1bdf9" in body["method"]
    assert body["sources"]["anthropic"].startswith("https://")
    gpt4o = next(row for row in body["models"] if row["key"] == "openai/gpt-4o")
    assert gpt4o == {"provider": "openai", "model": "gpt-4o", "key": "openai/gpt-4o", "input_per_mtok": "2.5",
                     "output_per_mtok": "10", "cache_read_per_mtok": "1.25", "context_window": 128000,
                     "max_output_tokens": 16384, "kind": "chat", "source": "https://openai.com/api/pricing/",
                     "checked": "2026-12-02: transcribed from BerriAI/litellm model_prices_and_context_window.json"
                                " at 00035b69f416"}
    groq = (await client.get("/catalog?provider=groq")).json()
    assert groq["count"] == 8 and {row["provider"] for row in groq["models"]} == {"groq"}


@pytest.mark.parametrize(("query", "key", "how"), [
    ("model=gpt-4o-2024-08-06", "openai/gpt-4o-2024-08-06", "exact"),
    ("model=gpt-4o-2026-05-01", "openai/gpt-4o", "undated"),
    ("model=claude-3-7-sonnet-latest", "anthropic/claude-3-7-sonnet-20250219", "alias"),
    ("model=openai/gpt-4o-mini", "openai/gpt-4o-mini", "exact"),
    ("model=gpt-4o-mini&api_format=azure", "azure/gpt-4o-mini", "exact"),
    ("model=gpt-4o-mini&provider=azure", "azure/gpt-4o-mini", "exact"),
])
async def test_a_model_is_looked_up_as_a_registration_would_be(client: httpx.AsyncClient, query: str, key: str,
                                                               how: str):
    body = (await client.get(f"/catalog?{query}")).json()
    assert (body["model"]["key"], body["match"], body["priced_by"]) == (key, how, "catalog:2026-12-02")


async def test_looking_up_an_unknown_model_is_a_404_and_an_empty_name_a_400(client: httpx.AsyncClient):
    error = assert_error(await client.get("/catalog?model=claude-3-5-sonnet-latest"), 404, field="model")
    assert "'claude-3-5-sonnet-latest' is not in the price catalog" in error["message"]
    assert_error(await client.get("/catalog?model="), 400, field="model")


async def test_a_registration_without_prices_is_priced_from_the_catalog(client: httpx.AsyncClient):
    out = await register(client, {"name": "cat-claude", "model": "claude-sonnet-4-5-20250929",
                                  "api_format": "anthropic", "endpoint": SIM})
    provider = out["provider"]
    assert (provider["priced_by"], provider["catalog_model"]) == ("catalog:2026-12-02",
                                                                 "anthropic/claude-sonnet-4-5-20250929")
    assert (provider["input_per_mtok"], provider["output_per_mtok"], provider["cache_read_per_mtok"],
            provider["cache_write_per_mtok"], provider["cache_write_1h_per_mtok"], provider["context_window"]) == (
        3, 15, 0.3, 3.75, 6, 200000)
    assert provider["cost_per_input_token"] == 0.000003
    assert out["catalog"] == {"model": "anthropic/claude-sonnet-4-5-20250929", "match": "exact",
                              "filled": ["input_per_mtok", "output_per_mtok", "cache_read_per_mtok",
                                         "cache_write_per_mtok", "cache_write_1h_per_mtok", "context_window"]}
    stored = (await client.get("/providers/cat-claude")).json()
    assert (stored["priced_by"], stored["catalog_model"]) == ("catalog:2026-12-02",
                                                             "anthropic/claude-sonnet-4-5-20250929")
    snapshot = json.loads((await client.get("/registry/snapshot")).text, parse_float=Decimal)
    [carried] = [p for p in snapshot["providers"] if p["name"] == "cat-claude"]
    assert carried["priced_by"] == "catalog:2026-12-02" and carried["cost_per_cache_read_input_token"] == \
        Decimal("0.0000003")


async def test_prices_given_win_and_registering_again_with_all_of_them_drops_the_catalog(client: httpx.AsyncClient):
    out = await register(client, {"name": "cat-mini", "model": "gpt-4o-mini-2024-07-18", "endpoint": SIM,
                                  "input_per_mtok": "0.1"})
    provider = out["provider"]
    assert (provider["priced_by"], provider["input_per_mtok"], provider["output_per_mtok"],
            provider["cache_read_per_mtok"]) == ("registration+catalog:2026-12-02", 0.1, 0.6, 0.075)
    again = (await register(client, {"name": "cat-mini", "model": "gpt-4o-mini", "endpoint": SIM,
                                      "context_window": 8192, "input_per_mtok": "1", "output_per_mtok": "2"},
                            status=200))["provider"]
    # the row has a cache read price the registration left out: still from the catalog
    assert (again["priced_by"], again["cache_read_per_mtok"], again["context_window"]) == (
        "registration+catalog:2026-12-02", 0.075, 8192)
    own = (await register(client, {"name": "cat-mini", "model": "my-mini", "endpoint": SIM, "context_window": 8192,
                                   "input_per_mtok": "1", "output_per_mtok": "2"}, status=200))["provider"]
    assert (own["priced_by"], own["catalog_model"], own["cache_read_per_mtok"]) == ("registration", None, None)


async def test_an_unknown_model_without_prices_is_a_400_naming_it(client: httpx.AsyncClient):
    resp = await client.post("/register", json={"name": "mystery", "model": "mystery-model-9", "endpoint": SIM,
                                                "context_window": 8192})
    error = assert_error(resp, 400, field="model")
    assert "'mystery-model-9' is not in the price catalog" in error["message"]
    assert "input_per_mtok and output_per_mtok" in error["message"] and "GET /catalog" in error["message"]
    assert_error(await client.post("/register", json={"name": "mystery", "model": "mystery-model-9",
                                                      "endpoint": SIM, "input_per_mtok": "1",
                                                      "output_per_mtok": "1"}), 400, field="context_window")
    assert (await client.get("/providers?include_inactive=true")).json()["count"] == 0


@pytest.fixture
async def operated(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(OPERATOR_ROWS))
    app: FastAPI = create_app(Settings(artifacts_dir=tmp_path, access_log=False, price_catalog=path), clock=clock)
    async with serving(app) as c:
        yield c


async def test_the_operators_file_overrides_and_extends_the_catalog(operated: httpx.AsyncClient):
    body = (await operated.get("/catalog")).json()
    assert body["version"] == "2026-12-02+acme-3" and body["count"] == 116
    assert body["operator_file"].endswith("prices.json")
    gpt = (await register(operated, {"name": "gpt", "model": "gpt-4o", "endpoint": SIM}))["provider"]
    assert (gpt["priced_by"], gpt["input_per_mtok"], gpt["output_per_mtok"]) == ("catalog:2026-12-02+acme-3", 2, 10)
    acme = (await register(operated, {"name": "acme", "model": "acme/acme-large", "endpoint": SIM}))["provider"]
    assert (acme["catalog_model"], acme["input_per_mtok"], acme["output_per_mtok"], acme["context_window"]) == (
        "acme/acme-large", 0.7, 2.1, 32000)


def test_a_wrong_operator_file_stops_the_router_naming_it(tmp_path: Path):
    path = tmp_path / "prices.yaml"
    path.write_text("models:\n  - provider: acme\n    model: acme-large\n    input_per_mtok: cheap\n")
    with pytest.raises(PriceCatalogError, match=r"prices\.yaml: models\.0\.input_per_mtok is not a number"):
        create_app(Settings(artifacts_dir=tmp_path, access_log=False, price_catalog=path))
