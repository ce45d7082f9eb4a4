"""Provider filters and the strict query-parameter readers behind them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from starlette.datastructures import QueryParams

from services.common.errors import InvalidRequest
from services.common.registry.provider import Provider, provider_from_registration
from services.router.filters import ProviderFilter, apply, filter_from_query
from services.router.params import bool_param, float_param, int_param

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def provider(name: str, model: str, ctx: int, features: list[str], active: bool = True) -> Provider:
    p = provider_from_registration({"name": name, "model": model, "context_window": ctx, "endpoint": "http://x",
                                    "input_per_mtok": Decimal(1), "output_per_mtok": Decimal(2),
                                    "features": features}, NOW)
    return p if active else p.touched(NOW, active=False)


FLEET = [
    provider("a", "gpt-4", 8192, ["vision", "function_calling"]),
    provider("b", "gpt-4", 4096, ["tools"]),
    provider("c", "claude-3", 200_000, ["vision"]),
    provider("d", "gpt-4", 128_000, [], active=False),
]


def names(wanted: ProviderFilter) -> list[str]:
    return [p.name for p in apply(FLEET, wanted)]


def test_no_filter_shows_the_active_ones():
    assert names(ProviderFilter()) == ["a", "b", "c"]
    assert names(ProviderFilter(include_inactive=True)) == ["a", "b", "c", "d"]


def test_each_filter_narrows():
    assert names(ProviderFilter(model="gpt-4")) == ["a", "b"]
    assert names(ProviderFilter(min_context=8192)) == ["a", "c"]
    assert names(ProviderFilter(min_context=8193)) == ["c"]
    assert names(ProviderFilter(features=frozenset({"vision"}))) == ["a", "c"]
    assert names(ProviderFilter(features=frozenset({"vision", "function_calling"}))) == ["a"]
    assert names(ProviderFilter(model="gpt-4", min_context=100_000, include_inactive=True)) == ["d"]


def test_filter_from_query_reads_every_parameter_and_feature_aliases():
    f = filter_from_query(QueryParams("model=gpt-4&min_context=4096&feature=tools&feature=vision"
                                      "&include_inactive=yes"))
    assert f == ProviderFilter(model="gpt-4", min_context=4096,
                               features=frozenset({"function_calling", "vision"}), include_inactive=True)
    assert filter_from_query(QueryParams("")) == ProviderFilter()


@pytest.mark.parametrize(("query", "field"), [
    ("min_context=4k", "min_context"),
    ("min_context=-1", "min_context"),
    ("min_context=1.5", "min_context"),
    ("model=a&model=b", "model"),
    ("model=%20", "model"),
    ("feature=", "feature"),
    ("include_inactive=perhaps", "include_inactive"),
    ("features=vision", "features"),
])
def test_bad_queries_name_the_parameter(query: str, field: str):
    with pytest.raises(InvalidRequest) as info:
        filter_from_query(QueryParams(query))
    assert info.value.field == field


def test_readers_return_none_when_absent_and_parse_when_present():
    q = QueryParams("n=7&w=0.25&b=FALSE")
    assert int_param(q, "n") == 7 and int_param(q, "missing") is None
    assert float_param(q, "w") == 0.25 and float_param(q, "missing") is None
    assert bool_param(q, "b") is False and bool_param(q, "missing") is None


@pytest.mark.parametrize("text", ["nan", "inf", "-0.5", "soon"])
def test_float_param_refuses_non_finite_negative_or_text(text: str):
    with pytest.raises(InvalidRequest):
        float_param(QueryParams({"wait": text}), "wait")
