"""The price catalog (services/common/pricing): the shipped rows are exact transcriptions with a
source and a check date each; names, aliases, dated names and provider prefixes find the right
row; an operator's file overrides fields or adds rows, and its mistakes are refused by name."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from services.common.pricing.catalog import (
    PRICE_FIELDS,
    PriceCatalog,
    PriceCatalogError,
    load_catalog,
    parse_catalog,
    shipped_catalog,
    with_overrides,
)
from services.common.pricing.names import split_provider, undated

# our field -> the source's (BerriAI/litellm model_prices_and_context_window.json)
SOURCE_FIELDS = {"input_per_mtok": "input_cost_per_token", "output_per_mtok": "output_cost_per_token",
                 "cache_read_per_mtok": "cache_read_input_token_cost",
                 "cache_write_per_mtok": "cache_creation_input_token_cost",
                 "cache_write_1h_per_mtok": "cache_creation_input_token_cost_above_1hr"}
PROVIDERS = {"openai", "anthropic", "gemini", "azure", "mistral", "groq", "deepseek"}


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return shipped_catalog()


def price(catalog: PriceCatalog, name: str, api_format: str | None = None) -> tuple[str, str, str]:
    match = catalog.lookup(name, api_format)
    assert match is not None, name
    return match.row.key, match.how, str(match.row.input_per_mtok)


# --- the shipped rows ---------------------------------------------------------------------------


def test_the_shipped_catalog_covers_the_providers_users_meet(catalog):
    assert catalog.version == "2026-12-02" and catalog.priced_by == "catalog:2026-12-02"
    assert set(catalog.providers()) == PROVIDERS
    assert len(catalog) == 115
    keys = {row.key for row in catalog.rows}
    for key in ("openai/gpt-4o", "openai/gpt-4o-mini", "openai/gpt-4.1", "openai/gpt-4.1-mini", "openai/gpt-4.1-nano",
                "openai/o3", "openai/o4-mini", "openai/gpt-4-turbo", "openai/gpt-4", "openai/gpt-3.5-turbo",
                "openai/text-embedding-3-small", "openai/text-embedding-3-large",
                "anthropic/claude-3-7-sonnet-20250219", "anthropic/claude-3-haiku-20240307",
                "anthropic/claude-sonnet-4-20250514", "anthropic/claude-opus-4-1-20250805",
                "anthropic/claude-sonnet-4-5-20250929", "anthropic/claude-haiku-4-5-20251001",
                "gemini/gemini-2.0-flash", "gemini/gemini-2.5-flash", "gemini/gemini-2.5-pro",
                "gemini/gemini-2.5-flash-lite", "azure/gpt-4o", "azure/o3", "azure/text-embedding-3-small",
                "mistral/mistral-large-latest", "groq/llama-3.3-70b-versatile", "deepseek/deepseek-chat"):
        assert key in keys, key


def test_every_row_names_its_source_and_when_and_how_it_was_checked(catalog):
    sources = catalog.header["sources"]
    assert set(sources) == PROVIDERS
    assert "00035b69f416be24e2e323c13198d9b7d2d1bdf9" in catalog.header["method"]
    for row in catalog.rows:
        assert row.source == sources[row.provider] and row.source.startswith("https://"), row.key
        assert row.checked.startswith("2026-12-02: transcribed from BerriAI/litellm") and "00035b69f416" in row.checked
        assert row.transcribed["key"] in (row.model, row.key), row.key


def test_every_price_is_the_sources_per_token_figure_times_a_million_exactly(catalog):
    for row in catalog.rows:
        for ours, theirs in SOURCE_FIELDS.items():
            if theirs in row.transcribed:
                per_token = Decimal(row.transcribed[theirs])
                assert row.per_mtok(ours) == per_token * 1_000_000, (row.key, ours)
                assert row.per_token(ours) == per_token, (row.key, ours)  # and back, exactly
            else:
                assert row.per_mtok(ours) is None, (row.key, ours)
        assert row.context_window == row.transcribed["max_input_tokens"]


def test_per_token_prices_are_exact_decimals():
    row = shipped_catalog().lookup("gpt-4o-mini").row  # type: ignore[union-attr]
    assert row.per_token("input_per_mtok") == Decimal("0.00000015")
    assert row.per_token("cache_read_per_mtok") == Decimal("0.000000075")
    assert row.per_token("input_per_mtok") * 1_000_000 == Decimal("0.15")  # no binary float anywhere
    assert row.per_token("cache_write_per_mtok") is None


def test_a_price_the_source_got_wrong_is_left_out_and_said(catalog):
    haiku = catalog.lookup("claude-3-haiku-20240307").row  # type: ignore[union-attr]
    assert haiku.cache_write_1h_per_mtok is None and "left out" in (haiku.notes or "")
    sonnet = catalog.lookup("claude-sonnet-4-5").row  # type: ignore[union-attr]
    assert sonnet.cache_write_1h_per_mtok == Decimal("6") and "above 200k" in (sonnet.notes or "")


def test_the_json_of_a_row_carries_exact_decimal_strings(catalog):
    row = catalog.lookup("claude-haiku-4-5").row.to_json()  # type: ignore[union-attr]
    assert (row["input_per_mtok"], row["output_per_mtok"], row["cache_read_per_mtok"], row["cache_write_per_mtok"],
            row["cache_write_1h_per_mtok"]) == ("1", "5", "0.1", "1.25", "2")
    assert row["key"] == "anthropic/claude-haiku-4-5" and row["context_window"] == 200_000


# --- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("gpt-4o", (None, "gpt-4o")),
    ("openai/gpt-4o", ("openai", "gpt-4o")),
    ("Azure/GPT-4o", ("azure", "gpt-4o")),
    ("google/gemini-2.5-pro", ("gemini", "gemini-2.5-pro")),
    ("models/gemini-2.5-pro", (None, "gemini-2.5-pro")),
    ("gemini/models/gemini-2.5-pro", ("gemini", "gemini-2.5-pro")),
    ("groq/meta-llama/llama-4-scout-17b-16e-instruct", ("groq", "meta-llama/llama-4-scout-17b-16e-instruct")),
    ("meta-llama/llama-4-scout-17b-16e-instruct", (None, "meta-llama/llama-4-scout-17b-16e-instruct")),
    ("openai/", (None, "openai/")),
])
def test_a_provider_prefix_is_split_off(name, expected):
    assert split_provider(name) == expected


@pytest.mark.parametrize(("name", "expected"), [
    ("gpt-4o-2024-08-06", "gpt-4o"),
    ("gpt-4-0613", "gpt-4"),
    ("claude-3-7-sonnet-20250219", "claude-3-7-sonnet"),
    ("claude-3-7-sonnet@20250219", "claude-3-7-sonnet"),
    ("claude-3-7-sonnet-latest", "claude-3-7-sonnet"),
    ("mistral-large-2411", "mistral-large"),
    ("gemini-2.0-flash-001", "gemini-2.0-flash"),
    ("gpt-4o", None),
    ("gpt-4-32k", None),
    ("claude-opus-4-1", None),
    ("gpt-3.5-turbo-16k", None),
])
def test_a_version_suffix_is_recognised(name, expected):
    assert undated(name) == expected


# --- lookup -------------------------------------------------------------------------------------


def test_an_exact_name_finds_its_row(catalog):
    assert price(catalog, "gpt-4o") == ("openai/gpt-4o", "exact", "2.5")
    assert price(catalog, "GPT-4o ") == ("openai/gpt-4o", "exact", "2.5")


def test_a_dated_name_with_a_row_of_its_own_keeps_its_own_price(catalog):
    assert price(catalog, "gpt-4o-2024-05-13") == ("openai/gpt-4o-2024-05-13", "exact", "5")
    assert price(catalog, "gpt-4o-2024-08-06") == ("openai/gpt-4o-2024-08-06", "exact", "2.5")


def test_a_dated_name_without_a_row_takes_the_undated_row(catalog):
    assert price(catalog, "gpt-4o-2025-03-01") == ("openai/gpt-4o", "undated", "2.5")
    assert price(catalog, "o3-mini-2026-01-01") == ("openai/o3-mini", "undated", "1.1")
    assert price(catalog, "claude-sonnet-4-5-20991231") == ("anthropic/claude-sonnet-4-5", "undated", "3")
    assert price(catalog, "claude-3-7-sonnet@20250219") == ("anthropic/claude-3-7-sonnet-20250219", "undated", "3")
    assert price(catalog, "mistral/mistral-large-2603") == ("mistral/mistral-large-latest", "undated", "0.5")


def test_latest_and_listed_aliases_find_the_dated_row(catalog):
    assert price(catalog, "claude-3-7-sonnet-latest") == ("anthropic/claude-3-7-sonnet-20250219", "alias", "3")
    assert price(catalog, "claude-3-7-sonnet") == ("anthropic/claude-3-7-sonnet-20250219", "alias", "3")
    assert price(catalog, "claude-opus-4-0") == ("anthropic/claude-opus-4-20250514", "alias", "15")
    assert price(catalog, "claude-3-haiku") == ("anthropic/claude-3-haiku-20240307", "alias", "0.25")
    # several dated rows and no undated one: -latest is the newest
    assert price(catalog, "mistral-medium") == ("mistral/mistral-medium-latest", "alias", "1.5")


def test_a_model_the_source_does_not_carry_is_not_invented(catalog):
    for name in ("claude-3-5-sonnet-latest", "claude-3-5-sonnet-20241022", "gemini-1.5-pro", "claude-sonnet",
                 "text-embedding-004", "my-own-model", "gpt-5-2099-01-01", ""):
        assert catalog.lookup(name) is None, name


def test_a_provider_prefix_or_the_wire_format_picks_the_provider(catalog):
    assert price(catalog, "gpt-4o-mini") == ("openai/gpt-4o-mini", "exact", "0.15")
    assert price(catalog, "openai/gpt-4o-mini") == ("openai/gpt-4o-mini", "exact", "0.15")
    assert price(catalog, "azure/gpt-4o-mini") == ("azure/gpt-4o-mini", "exact", "0.165")
    assert price(catalog, "gpt-4o-mini", "azure") == ("azure/gpt-4o-mini", "exact", "0.165")
    assert price(catalog, "gpt-35-turbo") == ("azure/gpt-35-turbo", "exact", "0.5")
    assert price(catalog, "models/gemini-2.5-flash", "gemini") == ("gemini/gemini-2.5-flash", "exact", "0.3")
    assert price(catalog, "llama-3.3-70b-versatile") == ("groq/llama-3.3-70b-versatile", "exact", "0.59")
    assert price(catalog, "deepseek-chat") == ("deepseek/deepseek-chat", "exact", "0.28")
    # a prefix names the only provider searched
    assert catalog.lookup("anthropic/gpt-4o") is None
    assert catalog.lookup("azure/claude-sonnet-4-5") is None


# --- an operator's file -------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_an_operator_file_overrides_fields_and_adds_rows(tmp_path):
    path = write(tmp_path, "prices.json", json.dumps({"version": "acme-7", "models": [
        {"provider": "openai", "model": "gpt-4o", "input_per_mtok": "2", "cache_read_per_mtok": None},
        {"provider": "acme", "model": "acme-large", "input_per_mtok": "0.7", "output_per_mtok": "2.1",
         "context_window": 32000, "aliases": ["acme-large-latest"]},
    ]}))
    catalog = load_catalog(path)
    assert catalog.version == "2026-12-02+acme-7" and catalog.priced_by == "catalog:2026-12-02+acme-7"
    assert len(catalog) == 116 and catalog.header["operator_file"] == str(path)
    gpt = catalog.lookup("gpt-4o-2099-01-01").row  # type: ignore[union-attr]
    assert (gpt.input_per_mtok, gpt.output_per_mtok, gpt.cache_read_per_mtok) == (Decimal("2"), Decimal("10"), None)
    assert gpt.source == f"operator file {path}" and gpt.transcribed == {}
    acme = catalog.lookup("acme/acme-large")
    assert acme is not None and acme.row.per_token("output_per_mtok") == Decimal("0.0000021")
    assert catalog.lookup("acme-large-latest").row.key == "acme/acme-large"  # type: ignore[union-attr]
    # the shipped catalog itself is untouched
    assert shipped_catalog().lookup("gpt-4o").row.input_per_mtok == Decimal("2.5")  # type: ignore[union-attr]


def test_an_operator_file_may_be_yaml_and_needs_no_version(tmp_path):
    path = write(tmp_path, "prices.yaml", "models:\n  - provider: anthropic\n    model: claude-haiku-4-5\n"
                                          "    input_per_mtok: 0.8\n    output_per_mtok: '4'\n")
    catalog = load_catalog(path)
    assert catalog.version.startswith("2026-12-02+local-") and len(catalog.version) == len("2026-12-02+local-") + 8
    row = catalog.lookup("claude-haiku-4-5").row  # type: ignore[union-attr]
    assert (row.input_per_mtok, row.output_per_mtok, row.cache_read_per_mtok) == (Decimal("0.8"), 4, Decimal("0.1"))


@pytest.mark.parametrize(("rows", "message"), [
    ([{"provider": "acme", "model": "x", "input_per_mtok": "1"}], "models.0.output_per_mtok is required"),
    ([{"provider": "acme", "model": "x", "input_per_mtok": "1", "output_per_mtok": "2"}], "context_window is required"),
    ([{"model": "gpt-4o", "input_per_mtok": "1"}], "provider and model are required"),
    ([{"provider": "openai", "model": "gpt-4o", "input_per_mtok": "-1"}], "must not be negative"),
    ([{"provider": "openai", "model": "gpt-4o", "input_per_mtok": "lots"}], "is not a number"),
    ([{"provider": "openai", "model": "gpt-4o", "input_per_mtok": None}], "input_per_mtok cannot be removed"),
    ([{"provider": "openai", "model": "gpt-4o", "input_per_mtok": "2000000"}], "at most 1000000"),
    ([{"provider": "openai", "model": "gpt-4o", "context_window": 0}], "context_window must be a whole number"),
    ([{"provider": "openai", "model": "gpt-4o", "context_window": 100}], "max_output_tokens cannot exceed"),
    ([{"provider": "openai", "model": "gpt-4o", "price": "1"}], "unknown fields ['price']"),
    ([{"provider": "openai", "model": "gpt-4o"}, {"provider": "openai", "model": "GPT-4o"}], "listed twice"),
    ("not a list", "a `models` list"),
])
def test_a_wrong_operator_file_is_refused_naming_the_row_and_field(tmp_path, rows, message):
    path = write(tmp_path, "prices.json", json.dumps({"models": rows}))
    with pytest.raises(PriceCatalogError, match=None) as refused:
        load_catalog(path)
    assert message in str(refused.value) and str(path) in str(refused.value)


def test_an_unreadable_operator_file_is_refused(tmp_path):
    with pytest.raises(PriceCatalogError, match="cannot be read"):
        load_catalog(tmp_path / "missing.json")
    with pytest.raises(PriceCatalogError, match="not valid json"):
        load_catalog(write(tmp_path, "bad.json", "{"))


def test_the_shipped_shape_needs_a_version_and_every_rows_source(catalog):
    doc = {"version": "v", "models": [{"provider": "a", "model": "m", "input_per_mtok": "1", "output_per_mtok": "1",
                                        "context_window": 10, "checked": "today"}]}
    with pytest.raises(PriceCatalogError, match="source is required"):
        parse_catalog(doc)
    with pytest.raises(PriceCatalogError, match="must name its `version`"):
        parse_catalog({"models": []})
    assert len(with_overrides(catalog, {"models": []}, "empty.json", "0" * 64)) == len(catalog)


def test_every_price_field_is_known():
    assert tuple(SOURCE_FIELDS) == PRICE_FIELDS
