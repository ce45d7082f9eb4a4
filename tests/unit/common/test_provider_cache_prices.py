"""Registering prompt-cache prices: optional, in the same form as the input and output prices
(per token or per million tokens), exact, refused with the field named when wrong, and kept
through the provider's JSON (the router's store and the gateway's snapshot)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import jsonschema
import pytest

from services.common import contracts
from services.common.errors import InvalidRequest
from services.common.registry.provider import Provider, provider_from_registration

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
BASE: dict[str, Any] = {"name": "claude", "model": "claude-sonnet", "context_window": 200_000,
                        "endpoint": "http://h:1", "api_format": "anthropic"}
PER_MTOK = {"input_per_mtok": "3", "output_per_mtok": "15", "cache_read_per_mtok": "0.30",
            "cache_write_per_mtok": "3.75"}
PER_TOKEN = {"cost_per_input_token": "0.000003", "cost_per_output_token": "0.000015",
             "cost_per_cache_read_input_token": 0.0000003, "cost_per_cache_creation_input_token": "0.00000375"}


def made(**prices: Any) -> Provider:
    return provider_from_registration({**BASE, **prices}, NOW)


@pytest.mark.parametrize("prices", [PER_MTOK, PER_TOKEN], ids=["per_mtok", "per_token"])
def test_both_forms_give_the_same_exact_per_token_prices(prices):
    p = made(**prices)
    assert p.cache_read_per_token == Decimal("0.0000003")
    assert p.cache_write_per_token == Decimal("0.00000375")
    assert (p.cache_read_per_mtok, p.cache_write_per_mtok) == (Decimal("0.3"), Decimal("3.75"))
    assert p.input_cost(1_000_000, 800_000, 100_000) == Decimal("0.915000")


def test_cache_prices_are_optional_and_absent_ones_are_the_input_price():
    p = made(input_per_mtok="3", output_per_mtok="15")
    assert p.cache_read_per_token is None and p.cache_write_per_token is None
    assert p.input_cost(1_000_000, 800_000, 100_000) == Decimal("3.000000")
    only_reads = made(input_per_mtok="3", output_per_mtok="15", cache_read_per_mtok="0.3")
    assert only_reads.cache_write_per_token is None
    assert only_reads.input_cost(1_000_000, 800_000, 100_000) == Decimal("0.840000")  # 0.3 + 0.24 + 0.3


@pytest.mark.parametrize(("prices", "field"), [
    ({"input_per_mtok": "3", "output_per_mtok": "15", "cost_per_cache_read_input_token": "0.0000003"},
     "cost_per_cache_read_input_token"),
    ({**PER_TOKEN, "cache_write_per_mtok": "3.75"}, "cache_write_per_mtok"),
    ({"cache_read_per_mtok": "0.3"}, "input_per_mtok"),
    ({"cost_per_cache_creation_input_token": "0.00000375"}, "cost_per_input_token"),
    ({"input_per_mtok": "3", "cache_read_per_mtok": "0.3"}, "output_per_mtok"),
    ({**PER_MTOK, "cache_read_per_mtok": "-0.3"}, "cache_read_per_mtok"),
    ({**PER_MTOK, "cache_write_per_mtok": "lots"}, "cache_write_per_mtok"),
    ({**PER_TOKEN, "cost_per_cache_creation_input_token": True}, "cost_per_cache_creation_input_token"),
    ({**PER_TOKEN, "cost_per_cache_read_input_token": float("nan")}, "cost_per_cache_read_input_token"),
    ({**PER_MTOK, "cache_write_1h_per_mtok": "-6"}, "cache_write_1h_per_mtok"),
    ({**PER_MTOK, "cache_write_1h_per_mtok": "double"}, "cache_write_1h_per_mtok"),
    ({**PER_TOKEN, "cost_per_cache_creation_1h_input_token": True}, "cost_per_cache_creation_1h_input_token"),
    ({**PER_TOKEN, "cost_per_cache_creation_1h_input_token": float("inf")}, "cost_per_cache_creation_1h_input_token"),
    ({**PER_TOKEN, "cache_write_1h_per_mtok": "6"}, "cache_write_1h_per_mtok"),  # the other form
    ({**PER_MTOK, "cost_per_cache_creation_1h_input_token": "0.000006"}, "cost_per_cache_creation_1h_input_token"),
    ({"cache_write_1h_per_mtok": "6"}, "input_per_mtok"),
    ({"cost_per_input_token": "0.000003", "cost_per_cache_creation_1h_input_token": "0.000006"},
     "cost_per_output_token"),
])
def test_wrong_cache_prices_are_refused_naming_the_field(prices, field):
    with pytest.raises(InvalidRequest) as refused:
        made(**prices)
    assert refused.value.status == 400 and refused.value.field == field


@pytest.mark.parametrize("prices", [{**PER_MTOK, "cache_read_per_mtok": -1},
                                    {**PER_MTOK, "cache_write_per_mtok": "3.75.1"},
                                    {**PER_TOKEN, "cost_per_cache_read_input_token": "free"},
                                    {**PER_MTOK, "cache_write_1h_per_mtok": -6},
                                    {**PER_MTOK, "cache_write_1h_per_mtok": "6.0.0"},
                                    {**PER_TOKEN, "cost_per_cache_creation_1h_input_token": "twice"}])
def test_the_registration_contract_refuses_them_too(prices):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**BASE, **prices}, contracts.schema("provider_registration"))


def test_the_provider_json_carries_them_exactly_and_reads_back_equal():
    p = made(**PER_MTOK)
    data = p.to_json()
    assert (data["cache_read_per_mtok"], data["cache_write_per_mtok"]) == (Decimal("0.3"), Decimal("3.75"))
    assert data["cost_per_cache_read_input_token"] == Decimal("0.0000003")
    assert data["cost_per_cache_creation_input_token"] == Decimal("0.00000375")
    jsonschema.validate({k: float(v) if isinstance(v, Decimal) else v for k, v in data.items()},
                        contracts.schema("provider"))
    assert Provider.from_json(data) == p
    plain = made(input_per_mtok="3", output_per_mtok="15")
    assert plain.to_json()["cache_read_per_mtok"] is None
    assert Provider.from_json(plain.to_json()) == plain
    older = {k: v for k, v in plain.to_json().items() if "cache" not in k}  # written before cache prices
    assert Provider.from_json(older) == plain


def test_the_dearest_input_price_includes_a_dearer_cache_write():
    assert made(**PER_MTOK).dearest_input_per_token == Decimal("0.00000375")
    assert made(input_per_mtok="3", output_per_mtok="15").dearest_input_per_token == Decimal("0.000003")
    assert made(input_per_mtok="3", output_per_mtok="15",
                cache_read_per_mtok="0.3").dearest_input_per_token == Decimal("0.000003")


# Anthropic Sonnet with 1-hour writes at 2x input
PER_MTOK_1H = {**PER_MTOK, "cache_write_1h_per_mtok": "6"}
PER_TOKEN_1H = {**PER_TOKEN, "cost_per_cache_creation_1h_input_token": "0.000006"}


@pytest.mark.parametrize("prices", [PER_MTOK_1H, PER_TOKEN_1H], ids=["per_mtok", "per_token"])
def test_a_one_hour_write_price_in_either_form(prices):
    p = made(**prices)
    assert p.cache_write_1h_per_token == Decimal("0.000006") and p.cache_write_1h_per_mtok == Decimal("6")
    # 1,000,000 in: 700,000 read, 200,000 written of which 50,000 for an hour, 100,000 plain
    assert p.input_cost(1_000_000, 700_000, 200_000, 50_000) == Decimal("1.372500")
    assert p.input_cost(1_000_000, 800_000, 100_000) == Decimal("0.915000")  # no 1-hour writes: as before


def test_without_a_one_hour_price_one_hour_writes_cost_the_write_price():
    p = made(**PER_MTOK)
    assert p.cache_write_1h_per_token is None and p.cache_write_1h_per_mtok is None
    assert p.input_cost(1_000_000, 700_000, 200_000, 50_000) == Decimal("1.260000")  # 0.3 + 0.21 + 0.75
    plain = made(input_per_mtok="3", output_per_mtok="15")
    assert plain.input_cost(1_000_000, 700_000, 200_000, 50_000) == Decimal("3.000000")
    only_1h = made(input_per_mtok="3", output_per_mtok="15", cache_write_1h_per_mtok="6")
    assert only_1h.cache_write_per_token is None
    assert only_1h.input_cost(1_000_000, 700_000, 200_000, 50_000) == Decimal("3.150000")  # 2.85 + 0.3


def test_the_registration_contract_accepts_a_one_hour_price_in_either_form():
    jsonschema.validate({**BASE, **PER_MTOK_1H}, contracts.schema("provider_registration"))
    jsonschema.validate({**BASE, **PER_TOKEN_1H}, contracts.schema("provider_registration"))


def test_the_provider_json_carries_the_one_hour_price_exactly():
    p = made(**PER_MTOK_1H)
    data = p.to_json()
    assert data["cache_write_1h_per_mtok"] == Decimal("6")
    assert data["cost_per_cache_creation_1h_input_token"] == Decimal("0.000006")
    jsonschema.validate({k: float(v) if isinstance(v, Decimal) else v for k, v in data.items()},
                        contracts.schema("provider"))
    assert Provider.from_json(data) == p
    assert made(**PER_MTOK).to_json()["cache_write_1h_per_mtok"] is None
    older = {k: v for k, v in made(**PER_MTOK).to_json().items() if "1h" not in k}  # written before the 1h price
    assert Provider.from_json(older) == made(**PER_MTOK)


def test_the_dearest_input_price_includes_a_dearer_one_hour_write():
    assert made(**PER_MTOK_1H).dearest_input_per_token == Decimal("0.000006")
    assert made(input_per_mtok="3", output_per_mtok="15",
                cache_write_1h_per_mtok="6").dearest_input_per_token == Decimal("0.000006")
    # a 1-hour price below the others changes nothing
    assert made(**PER_MTOK, cache_write_1h_per_mtok="1").dearest_input_per_token == Decimal("0.00000375")
