"""Refusing secrets in a registration: a provider's API key is referenced by the name of an
environment variable (`api_key_env`), never sent, and only by a name the operator allowed
(services/common/registry/key_env.py). The refusal names the field, never the value."""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from services.common import contracts
from services.common.errors import InvalidRequest
from services.common.registry.key_env import DEFAULT_ALLOW, KeyEnvRule

SECRET_WORDS = frozenset({"key", "keys", "apikey", "secret", "secrets", "token", "password", "passwd",
                          "authorization", "auth", "bearer", "credential", "credentials"})
ADVICE = ("put the key in an environment variable on the gateway and register its name instead, "
          'e.g. "api_key_env": "OPENAI_API_KEY"')
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_SPLIT = re.compile(r"[^a-z0-9]+")


@cache
def _registration_fields() -> frozenset[str]:
    """The registration contract's own field names (e.g. cost_per_input_token): never secrets."""
    schema = contracts.raw_schema("provider_registration")
    slo = schema["properties"]["slo"].get("properties", {})
    return frozenset(schema["properties"]) | frozenset(slo)


@cache
def _env_name() -> re.Pattern[str]:
    return re.compile(contracts.raw_schema("provider_registration")["properties"]["api_key_env"]["pattern"])


def looks_like_secret(name: str) -> bool:
    """api_key, apiKey, X-API-Key, Authorization, client_secret, token ... but not api_key_env."""
    if name in _registration_fields():
        return False
    words = [w for w in _SPLIT.split(_CAMEL.sub(r"\1_\2", name).lower()) if w]
    return bool(words) and words[-1] in SECRET_WORDS


def secret_field(data: Any, prefix: str = "") -> str | None:
    """The dotted path of the first secret-looking field anywhere in `data`, or None."""
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if looks_like_secret(str(key)):
                return path
            found = secret_field(value, path)
            if found:
                return found
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found = secret_field(value, f"{prefix}.{i}" if prefix else str(i))
            if found:
                return found
    return None


def endpoint_secret(endpoint: str) -> str | None:
    """Why `endpoint` carries a credential (user:password@ or a key in its query), or None."""
    try:
        parts = urlsplit(endpoint)
        has_userinfo = parts.username is not None or parts.password is not None
    except ValueError:
        return None  # not a URL we can read: the contract's pattern decides
    if has_userinfo:
        return "endpoint must not carry credentials (user:password@host)"
    if any(looks_like_secret(k) for k, _ in parse_qsl(parts.query, keep_blank_values=True)):
        return "endpoint must not carry a key in its query string"
    return None


def refuse_secrets(body: Any, rule: KeyEnvRule = KeyEnvRule.parse(DEFAULT_ALLOW)) -> None:
    """Raise a 400 if the registration carries a secret, or names a variable `rule` does not allow
    as its `api_key_env`; the message never contains a value."""
    path = secret_field(body)
    if path is not None:
        raise InvalidRequest(f"{path[:128]!r} looks like a secret and is never accepted or stored: "
                             f"{ADVICE}", field=path[:128])
    if not isinstance(body, dict):
        return
    env = body.get("api_key_env")
    if isinstance(env, str) and not _env_name().match(env):
        raise InvalidRequest("api_key_env is the NAME of an environment variable on the gateway "
                             "(letters, digits and _), not the key itself", field="api_key_env")
    refusal = rule.refusal(env) if isinstance(env, str) else None
    if refusal:
        raise InvalidRequest(refusal, field="api_key_env")
    endpoint = body.get("endpoint")
    if isinstance(endpoint, str):
        reason = endpoint_secret(endpoint)
        if reason:
            raise InvalidRequest(f"{reason}; {ADVICE}", field="endpoint")
