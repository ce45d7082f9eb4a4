"""The price catalog on real processes: providers registered without prices (the simulator as
their endpoint) are priced from the catalog, route, and each receipt charges the catalog's prices
exactly (cost_usd = tokens x price, rounded to the microdollar as every receipt is), prompt-cache
reads and 5-minute / 1-hour writes included; a price given at registration wins; a model the
operator's file (TOLLWAY_PRICE_CATALOG) adds is priced from it; an unknown model without prices is
a 400 that names it."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from services.common.money import usd
from services.common.pricing.catalog import load_catalog
from tests.e2e.conftest import register
from tests.e2e.swarm import Swarm
from tests.e2e.test_provider_formats import client, receipts

MESSAGES = [{"role": "user", "content": "what did we agree on yesterday?"}]
OPERATOR_FILE = {"version": "e2e-1", "models": [
    {"provider": "acme", "model": "acme-sim-large", "input_per_mtok": "7", "output_per_mtok": "21",
     "context_window": 32000},
]}
VERSION = "2026-12-02+e2e-1"
# 800,000 prompt tokens read from the cache, 60,000 written for 5 minutes and 40,000 for an hour
CACHED = "/sim/tps=0,cache_read=800000,cache_write=60000,cache_write_1h=40000"


@pytest.fixture(scope="module")
def swarm(tmp_path_factory):
    root = tmp_path_factory.mktemp("swarm")
    prices = root / "prices.json"
    prices.write_text(json.dumps(OPERATOR_FILE))
    s = Swarm(root, extra_env={"TOLLWAY_PRICE_CATALOG": str(prices)})
    s.start_all()
    yield s
    s.stop_all()


@pytest.fixture(scope="module")
def catalog(swarm):
    return load_catalog(swarm.root / "prices.json")


@pytest.fixture(scope="module")
def providers(swarm, http):
    sim = swarm.url("simulator")
    out = {
        "gpt-4o": register(http, swarm, {"name": "cat-gpt4o", "model": "gpt-4o", "endpoint": sim + "/sim/tps=0"}),
        "claude-sonnet-4-5-20250929": register(http, swarm, {
            "name": "cat-claude", "model": "claude-sonnet-4-5-20250929", "api_format": "anthropic",
            "endpoint": sim + CACHED}),
        "acme-sim-large": register(http, swarm, {"name": "cat-acme", "model": "acme-sim-large",
                                                 "endpoint": sim + "/sim/tps=0"}),
        "gpt-4.1-mini": register(http, swarm, {"name": "cat-mini-own", "model": "gpt-4.1-mini",
                                               "endpoint": sim + "/sim/tps=0", "input_per_mtok": "0.5"}),
    }
    for model in out:
        swarm.wait_for_model(model)
    return out


def charged(receipt, prices: dict[str, Decimal]) -> tuple[Decimal, Decimal]:
    """The receipt's input and output cost at `prices` (per Mtok), each rounded to the microdollar."""
    read = receipt.get("cache_read_input_tokens", 0)
    written = receipt.get("cache_creation_input_tokens", 0)
    written_1h = receipt.get("cache_creation_1h_input_tokens", 0)
    uncached = receipt["input_tokens"] - read - written
    per_token = {name: price / 1_000_000 for name, price in prices.items()}
    input_cost = (uncached * per_token["input_per_mtok"] + read * per_token.get("cache_read_per_mtok", 0)
                  + (written - written_1h) * per_token.get("cache_write_per_mtok", 0)
                  + written_1h * per_token.get("cache_write_1h_per_mtok", 0))
    return usd(input_cost), usd(receipt["output_tokens"] * per_token["output_per_mtok"])


def routed(swarm, model: str) -> dict:
    run_id = f"price-catalog-{model.replace('.', '-')}"
    reply = client(swarm, run_id).chat.completions.create(model=model, messages=MESSAGES, max_tokens=7)
    [receipt] = receipts(swarm, run_id)
    assert receipt["status"] == "success" and receipt["usage_estimated"] is False
    assert (receipt["input_tokens"], receipt["output_tokens"]) == (reply.usage.prompt_tokens,
                                                                    reply.usage.completion_tokens)
    return receipt


def assert_charged(receipt, prices: dict[str, Decimal]) -> None:
    input_cost, output_cost = charged(receipt, prices)
    assert receipt["prices"] == prices
    assert (receipt["input_cost_usd"], receipt["output_cost_usd"]) == (input_cost, output_cost)
    assert receipt["cost_usd"] == input_cost + output_cost > 0
    assert receipt["cost_micros"] == int((input_cost + output_cost) * 1_000_000)


def row_prices(catalog, model: str) -> dict[str, Decimal]:
    row = catalog.lookup(model).row
    return {name: price for name in ("input_per_mtok", "output_per_mtok", "cache_read_per_mtok",
                                     "cache_write_per_mtok", "cache_write_1h_per_mtok")
            if (price := row.per_mtok(name)) is not None}


def test_registrations_without_prices_say_the_catalog_priced_them(providers):
    for model, answer in providers.items():
        provider = answer["provider"]
        expected = f"registration+catalog:{VERSION}" if model == "gpt-4.1-mini" else f"catalog:{VERSION}"
        assert provider["priced_by"] == expected, model
    assert providers["claude-sonnet-4-5-20250929"]["provider"]["context_window"] == 200_000
    assert providers["acme-sim-large"]["provider"]["catalog_model"] == "acme/acme-sim-large"


def test_a_catalog_priced_provider_routes_and_its_receipt_charges_the_catalog_price(swarm, providers, catalog):
    receipt = routed(swarm, "gpt-4o")
    assert receipt["provider"] == "cat-gpt4o"
    prices = row_prices(catalog, "gpt-4o")
    assert prices == {"input_per_mtok": Decimal("2.5"), "output_per_mtok": Decimal("10"),
                      "cache_read_per_mtok": Decimal("1.25")}
    assert_charged(receipt, prices)
    # e.g. 10 tokens in at $2.50 and 7 out at $10 per Mtok: $0.000025 + $0.000070
    assert receipt["input_cost_usd"] == usd(receipt["input_tokens"] * Decimal("0.0000025"))
    assert receipt["output_cost_usd"] == usd(receipt["output_tokens"] * Decimal("0.00001"))


def test_prompt_cache_reads_and_writes_are_charged_at_the_catalogs_cache_prices(swarm, providers, catalog):
    receipt = routed(swarm, "claude-sonnet-4-5-20250929")
    assert (receipt["cache_read_input_tokens"], receipt["cache_creation_input_tokens"],
            receipt["cache_creation_1h_input_tokens"]) == (800_000, 100_000, 40_000)
    prices = row_prices(catalog, "claude-sonnet-4-5-20250929")
    assert prices == {"input_per_mtok": Decimal("3"), "output_per_mtok": Decimal("15"),
                      "cache_read_per_mtok": Decimal("0.3"), "cache_write_per_mtok": Decimal("3.75"),
                      "cache_write_1h_per_mtok": Decimal("6")}
    assert_charged(receipt, prices)
    # 800,000 x $0.30 + 60,000 x $3.75 + 40,000 x $6 + 10 x $3 per Mtok in; 7 x $15 out
    assert (receipt["input_cost_usd"], receipt["output_cost_usd"]) == (Decimal("0.705030"), Decimal("0.000105"))


def test_a_model_the_operators_file_adds_is_priced_from_it(swarm, providers, catalog):
    receipt = routed(swarm, "acme-sim-large")
    assert receipt["provider"] == "cat-acme"
    assert_charged(receipt, {"input_per_mtok": Decimal("7"), "output_per_mtok": Decimal("21")})


def test_a_price_given_at_registration_wins_over_the_catalogs(swarm, providers, catalog):
    receipt = routed(swarm, "gpt-4.1-mini")
    assert_charged(receipt, {"input_per_mtok": Decimal("0.5"), "output_per_mtok": Decimal("1.6"),
                             "cache_read_per_mtok": Decimal("0.1")})


def test_the_router_serves_the_catalog_it_priced_from(swarm, http, providers):
    body = http.get(swarm.url("router") + "/catalog").json()
    assert body["version"] == VERSION and body["count"] == 116
    found = http.get(swarm.url("router") + "/catalog", params={"model": "gpt-4o-2026-01-01"}).json()
    assert (found["model"]["key"], found["match"], found["priced_by"]) == ("openai/gpt-4o", "undated",
                                                                          f"catalog:{VERSION}")


def test_an_unknown_model_without_prices_is_a_400_naming_it(swarm, http, providers):
    resp = http.post(swarm.url("router") + "/register", json={
        "name": "cat-mystery", "model": "mystery-model-9", "endpoint": swarm.url("simulator"),
        "context_window": 8192})
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["field"] == "model" and "'mystery-model-9' is not in the price catalog" in error["message"]
    assert "input_per_mtok and output_per_mtok" in error["message"]
    assert http.get(swarm.url("router") + "/providers/cat-mystery").status_code == 404
