"""Refusing secrets in registrations: which names look like secrets, and what the refusal says."""

from __future__ import annotations

import pytest

from services.common.errors import InvalidRequest
from services.common.registry.key_env import KeyEnvRule
from services.router.secret_fields import endpoint_secret, looks_like_secret, refuse_secrets, secret_field

VALUE = "sk-proj-abcdef0123456789"


@pytest.mark.parametrize("name", ["api_key", "apiKey", "APIKEY", "api-key", "x-api-key", "key", "secret",
                                  "client_secret", "token", "access_token", "Authorization", "password",
                                  "auth", "credentials", "private_key"])
def test_secret_looking_names(name: str):
    assert looks_like_secret(name)


@pytest.mark.parametrize("name", ["api_key_env", "cost_per_input_token", "cost_per_output_token",
                                  "max_output_tokens", "name", "endpoint", "keyboard", "monkey", "tokens",
                                  "latency_p95_ms", "model"])
def test_ordinary_names(name: str):
    assert not looks_like_secret(name)


def test_secret_field_finds_nested_paths():
    assert secret_field({"name": "a", "headers": {"X-Api-Key": VALUE}}) == "headers.X-Api-Key"
    assert secret_field({"extra": [{"ok": 1}, {"token": VALUE}]}) == "extra.1.token"
    assert secret_field({"name": "a", "api_key_env": "OPENAI_API_KEY"}) is None
    assert secret_field([1, "x"]) is None


@pytest.mark.parametrize(("endpoint", "bad"), [
    ("https://api.openai.com/v1", False),
    ("http://localhost:8100", False),
    ("https://x.openai.azure.com/openai?api-version=2024-02-01", False),
    ("https://generativelanguage.googleapis.com/v1beta?key=" + VALUE, True),
    ("https://h/v1?foo=1&access_token=" + VALUE, True),
    ("https://admin:" + VALUE + "@h/v1", True),
    ("https://" + VALUE + "@h/v1", True),
])
def test_endpoint_credentials(endpoint: str, bad: bool):
    assert (endpoint_secret(endpoint) is not None) is bad


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "a", "api_key": VALUE}, "api_key"),
    ({"name": "a", "slo": {"token": VALUE}}, "slo.token"),
    ({"name": "a", "endpoint": "https://h?key=" + VALUE}, "endpoint"),
    ({"name": "a", "api_key_env": VALUE}, "api_key_env"),
])
def test_refusal_names_the_field_points_to_api_key_env_and_never_holds_the_value(body: dict, field: str):
    with pytest.raises(InvalidRequest) as info:
        refuse_secrets(body)
    err = info.value
    assert err.status == 400 and err.field == field
    assert "api_key_env" in err.message
    assert VALUE not in err.message and VALUE not in repr(err.body())


def test_a_clean_registration_passes():
    refuse_secrets({"name": "a", "api_key_env": "OPENAI_API_KEY", "endpoint": "https://api.openai.com/v1",
                    "cost_per_input_token": 0.00003, "slo": {"latency_p95_ms": 2000}})
    refuse_secrets("not even an object")  # the contract check says what is wrong with it


def test_api_key_env_must_be_a_name_the_operator_allowed():
    refuse_secrets({"name": "a", "api_key_env": "OPENAI_API_KEY"})
    for name in ("TOLLWAY_ADMIN_KEY", "PATH", "AWS_SECRET_ACCESS_KEY"):
        with pytest.raises(InvalidRequest) as info:
            refuse_secrets({"name": "a", "api_key_env": name})
        assert info.value.field == "api_key_env" and "OPENAI_API_KEY" in info.value.message
    refuse_secrets({"name": "a", "api_key_env": "MYCO_KEY"}, KeyEnvRule.parse("MYCO_*"))
    with pytest.raises(InvalidRequest):
        refuse_secrets({"name": "a", "api_key_env": "TOLLWAY_ADMIN_KEY"}, KeyEnvRule.parse("*"))
