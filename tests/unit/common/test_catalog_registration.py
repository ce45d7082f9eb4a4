"""A registration priced from the catalog (services/common/pricing/registration.py): what it leaves
out comes from the model's row, in its own form and exactly; what it gives wins, field by field;
an unknown model without prices is a 400 that names the model and says how to give prices."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.common.errors import InvalidRequest
from services.common.pricing.catalog import shipped_catalog
from services.common.pricing.registration import priced_registration
from services.common.registry.provider import Provider, provider_from_registration

NOW = datetime(2026, 12, 2, tzinfo=UTC)
BASE = {"name": "p", "endpoint": "http://sim.local:8100"}
CATALOG = shipped_catalog()


def priced(**body: Any) -> tuple[Provider, Any]:
    completed, pricing = priced_registration({**BASE, **body}, CATALOG)
    provider = provider_from_registration(completed, NOW)
    return provider, pricing


def test_no_prices_and_no_window_take_the_catalogs_row():
    provider, pricing = priced(model="claude-sonnet-4-5-20250929", api_format="anthropic")
    assert (pricing.priced_by, pricing.catalog_model, pricing.match.how) == (
        "catalog:2026-12-02", "anthropic/claude-sonnet-4-5-20250929", "exact")
    assert pricing.filled == ("input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok",
                              "cache_write_1h_per_mtok", "context_window")
    assert (provider.input_per_token, provider.output_per_token, provider.cache_read_per_token,
            provider.cache_write_per_token, provider.cache_write_1h_per_token) == (
        Decimal("0.000003"), Decimal("0.000015"), Decimal("0.0000003"), Decimal("0.00000375"), Decimal("0.000006"))
    assert provider.context_window == 200_000 and provider.max_output_tokens is None


def test_a_dated_name_without_its_own_row_is_priced_from_the_undated_one():
    provider, pricing = priced(model="gpt-4o-2026-01-01", context_window=64_000)
    assert (pricing.catalog_model, pricing.match.how) == ("openai/gpt-4o", "undated")
    assert (provider.input_per_mtok, provider.output_per_mtok, provider.cache_read_per_mtok) == (
        Decimal("2.5"), Decimal("10"), Decimal("1.25"))
    assert provider.context_window == 64_000  # given: it wins


def test_per_token_prices_given_are_completed_per_token_exactly():
    provider, pricing = priced(model="gpt-4.1-nano", cost_per_input_token="0.00000008")
    assert pricing.priced_by == "registration+catalog:2026-12-02"
    assert pricing.filled == ("cost_per_output_token", "cost_per_cache_read_input_token", "context_window")
    assert provider.input_per_token == Decimal("0.00000008")  # the registration's
    assert provider.output_per_token == Decimal("0.0000004")  # the catalog's 0.4 per Mtok / 10^6, exactly
    assert provider.cache_read_per_token == Decimal("0.000000025")
    assert provider.cache_write_per_token is None  # the row has none: writes at the input price


def test_prices_given_win_field_by_field():
    provider, pricing = priced(model="claude-haiku-4-5", input_per_mtok="0.8", cache_write_1h_per_mtok="1.5")
    assert pricing.priced_by == "registration+catalog:2026-12-02"
    assert (provider.input_per_mtok, provider.output_per_mtok, provider.cache_read_per_mtok,
            provider.cache_write_per_mtok, provider.cache_write_1h_per_mtok) == (
        Decimal("0.8"), Decimal("5"), Decimal("0.1"), Decimal("1.25"), Decimal("1.5"))


def test_a_registration_with_every_price_and_its_window_needs_no_catalog():
    body = {**BASE, "model": "gpt-4o", "context_window": 8192, "input_per_mtok": "1", "output_per_mtok": "2",
            "cache_read_per_mtok": "0.5", "cache_write_per_mtok": "1", "cache_write_1h_per_mtok": "2"}
    completed, pricing = priced_registration(body, CATALOG)
    assert completed is body and (pricing.priced_by, pricing.catalog_model, pricing.match) == ("registration",
                                                                                               None, None)


def test_a_known_model_whose_row_adds_nothing_is_priced_by_the_registration():
    provider, pricing = priced(model="gpt-4", context_window=8192, input_per_mtok="10", output_per_mtok="30")
    assert (pricing.priced_by, pricing.catalog_model, provider.priced_by) == ("registration", None, "registration")


def test_only_the_window_from_the_catalog_keeps_the_registrations_prices():
    provider, pricing = priced(model="gpt-4", input_per_mtok="10", output_per_mtok="30")
    assert (pricing.priced_by, pricing.catalog_model, pricing.filled) == ("registration", "openai/gpt-4",
                                                                          ("context_window",))
    assert (provider.context_window, provider.input_per_mtok) == (8192, Decimal("10"))


def test_an_unknown_model_without_prices_is_a_400_that_says_so():
    with pytest.raises(InvalidRequest) as refused:
        priced(model="my-own-model", context_window=8192)
    message = str(refused.value)
    assert refused.value.field == "model"
    assert "'my-own-model' is not in the price catalog (catalog:2026-12-02)" in message
    assert "input_per_mtok and output_per_mtok" in message and "TOLLWAY_PRICE_CATALOG" in message


def test_an_unknown_model_without_a_window_is_a_400_on_the_window():
    with pytest.raises(InvalidRequest) as refused:
        priced(model="my-own-model", input_per_mtok="1", output_per_mtok="2")
    assert refused.value.field == "context_window" and "'my-own-model'" in str(refused.value)


def test_an_unknown_model_with_half_its_prices_keeps_the_registrys_rule():
    with pytest.raises(InvalidRequest) as refused:
        priced(model="my-own-model", context_window=8192, input_per_mtok="1")
    assert refused.value.field == "output_per_mtok"


def test_both_price_forms_are_left_for_the_registry_to_refuse():
    body = {**BASE, "model": "gpt-4o", "context_window": 8192, "cost_per_input_token": "0.000001",
            "cache_read_per_mtok": "0.5"}
    completed, pricing = priced_registration(body, CATALOG)
    assert completed is body and pricing.priced_by == "registration"
    with pytest.raises(InvalidRequest, match="not both"):
        provider_from_registration(completed, NOW)


def test_the_provider_json_shows_what_priced_it_and_reads_it_back():
    provider, pricing = priced(model="azure/gpt-4o-mini")
    provider = replace(provider, priced_by=pricing.priced_by, catalog_model=pricing.catalog_model)
    data = provider.to_json()
    assert (data["priced_by"], data["catalog_model"]) == ("catalog:2026-12-02", "azure/gpt-4o-mini")
    assert data["input_per_mtok"] == Decimal("0.165")
    again = Provider.from_json(data)
    assert (again.priced_by, again.catalog_model) == ("catalog:2026-12-02", "azure/gpt-4o-mini")
    older = {k: v for k, v in data.items() if k not in ("priced_by", "catalog_model")}  # stored before the catalog
    assert (Provider.from_json(older).priced_by, Provider.from_json(older).catalog_model) == ("registration", None)
