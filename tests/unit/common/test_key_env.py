"""Which variables a provider's api_key_env may name: the documented default, the operator's list
or patterns, and never a TOLLWAY_* name outside the provider-key prefix; reading only those."""

from __future__ import annotations

import pytest

from services.common import redaction
from services.common.registry.key_env import DEDICATED_PREFIX, DEFAULT_ALLOW, KeyEnvRule, ProviderKeys
from services.common.settings import Settings

DEFAULT = KeyEnvRule.parse(DEFAULT_ALLOW)


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
                                  "AZURE_OPENAI_API_KEY", "MISTRAL_API_KEY", "GROQ_API_KEY", "DEEPSEEK_API_KEY",
                                  "TOGETHER_API_KEY", "TOLLWAY_PROVIDER_KEY_OPENAI", "TOLLWAY_PROVIDER_KEY_team_a"])
def test_the_default_allows_the_usual_provider_key_names_and_the_dedicated_prefix(name):
    assert DEFAULT.allows(name) and DEFAULT.refusal(name) is None


@pytest.mark.parametrize("name", ["TOLLWAY_ADMIN_KEY", "tollway_admin_key", "Tollway_Redis_Url", "TOLLWAY_DATABASE_URL",
                                  "PATH", "HOME", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "DD_API_KEY",
                                  "GITHUB_TOKEN", "openai_api_key", "OPENAI_API_KEY_2", "TOLLWAY_PROVIDER_KEY"])
def test_the_default_refuses_everything_else(name):
    assert not DEFAULT.allows(name)
    refusal = DEFAULT.refusal(name)
    assert refusal is not None and "api_key_env" in refusal and "OPENAI_API_KEY" in refusal
    assert "TOLLWAY_API_KEY_ENV_ALLOW" in refusal


@pytest.mark.parametrize("allow", ["*", "TOLLWAY_*", "TOLLWAY_ADMIN_KEY", "*_KEY", "tollway_admin_key"])
def test_no_setting_ever_allows_the_services_own_variables(allow):
    rule = KeyEnvRule.parse(allow)
    for name in ("TOLLWAY_ADMIN_KEY", "tollway_admin_key", "TOLLWAY_API_KEY_ENV_ALLOW", "TOLLWAY_REDIS_URL"):
        assert not rule.allows(name)
        assert "TOLLWAY_* variables are the services' own" in (rule.refusal(name) or "")


def test_the_operator_replaces_the_list_with_names_and_patterns():
    rule = KeyEnvRule.parse(" MYCO_LLM_KEY , VENDOR_*_KEY,,")
    assert rule.patterns == ("MYCO_LLM_KEY", "VENDOR_*_KEY")
    assert rule.allows("MYCO_LLM_KEY") and rule.allows("VENDOR_ACME_KEY")
    assert not rule.allows("OPENAI_API_KEY") and not rule.allows("myco_llm_key")
    assert "MYCO_LLM_KEY, VENDOR_*_KEY" in (rule.refusal("PATH") or "")
    assert KeyEnvRule.parse("").refusal("OPENAI_API_KEY").endswith("none")  # type: ignore[union-attr]


def test_the_setting_defaults_to_the_documented_list_and_reads_from_the_environment(monkeypatch):
    assert Settings().api_key_env_allow == DEFAULT_ALLOW
    monkeypatch.setenv("TOLLWAY_API_KEY_ENV_ALLOW", "A_KEY,B_*")
    assert KeyEnvRule.from_settings(Settings()).patterns == ("A_KEY", "B_*")


def test_the_dedicated_prefix_names_no_setting():
    assert not any(("TOLLWAY_" + f).upper().startswith(DEDICATED_PREFIX) for f in Settings.model_fields)


def test_keys_are_read_only_under_allowed_names_and_remembered_for_redaction():
    env = {"OPENAI_API_KEY": "sk-openai-0123456789abcdef", "TOLLWAY_ADMIN_KEY": "admin-secret-0123456789",
           "PATH": "/usr/bin", "GROQ_API_KEY": ""}
    keys = ProviderKeys(DEFAULT, env)
    assert dict(keys) == {"OPENAI_API_KEY": "sk-openai-0123456789abcdef", "GROQ_API_KEY": ""}
    assert "sk-openai-0123456789abcdef" in redaction._known  # known from the start, before any use
    assert keys.read("OPENAI_API_KEY") == ("sk-openai-0123456789abcdef", None)
    key, problem = keys.read("TOLLWAY_ADMIN_KEY")
    assert key is None and problem is not None and "api_key_env" in problem and "admin-secret" not in problem
    assert keys.read("PATH")[0] is None and "/usr/bin" not in (keys.read("PATH")[1] or "")
    assert keys.read("GROQ_API_KEY") == (None, "environment variable GROQ_API_KEY is not set on the gateway")
    assert keys.get("TOLLWAY_ADMIN_KEY") is None and keys.get("PATH") is None
    assert "TOLLWAY_ADMIN_KEY" not in keys and "OPENAI_API_KEY" in keys
    assert "admin-secret-0123456789" not in redaction._known
