"""Features a provider declares at registration: the documented names (docs/providers.md) and
their aliases; anything else, a misspelling above all, is a 400 naming the field and the names."""

from datetime import UTC, datetime

import pytest

from services.common.errors import InvalidRequest
from services.common.registry.provider import KNOWN_FEATURES, provider_from_registration

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def register(features):
    return provider_from_registration(
        {"name": "p", "model": "gpt-4", "context_window": 8192, "input_per_mtok": "1", "output_per_mtok": "2",
         "endpoint": "http://localhost:8100", "features": features}, NOW)


def test_every_known_feature_and_alias_is_accepted():
    assert register([*KNOWN_FEATURES, "tools", "json"]).features == frozenset(KNOWN_FEATURES)


@pytest.mark.parametrize(("features", "field", "near"), [
    (["visoin"], "features.0", "vision"),
    (["vision", "function_call"], "features.1", "function_calling"),
    (["telepathy"], "features.0", None),
])
def test_an_unknown_feature_is_a_400_naming_the_field_and_the_known_ones(features, field, near):
    with pytest.raises(InvalidRequest) as refused:
        register(features)
    message = str(refused.value)
    assert refused.value.field == field
    assert all(name in message for name in KNOWN_FEATURES)
    assert (f"did you mean {near!r}" in message) if near else "did you mean" not in message


def test_the_documented_list_is_the_code_list():
    from pathlib import Path
    page = (Path(__file__).resolve().parents[3] / "docs" / "providers.md").read_text()
    for name in KNOWN_FEATURES:
        assert f"`{name}`" in page
