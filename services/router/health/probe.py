"""One cheap health probe of a provider: a GET of its models list in its own API format (or of
its registered `health_url`), with its key when the router's environment has it (under a name
the operator allowed: the health checker passes a `ProviderKeys`, which reads no other).

A models list that answers below 500 means the provider is up (a 401 or 404 still proves a live
server: the router may not hold the key); a `health_url` must answer 2xx or 3xx. A connection
error, a timeout or a 5xx is a failed probe.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from services.common.registry.provider import Provider

AZURE_API_VERSION = "2024-10-21"
ANTHROPIC_VERSION = "2023-06-01"


def _under(endpoint: str, version: str, path: str) -> str:
    base = endpoint.rstrip("/")
    return base + (path if base.endswith(version) else version + path)


def probe_request(provider: Provider, environ: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """(URL, headers) of the probe; the key never leaves the headers."""
    key = environ.get(provider.api_key_env) if provider.api_key_env else None
    if provider.health_url:
        return provider.health_url, {}
    fmt = provider.api_format
    if fmt == "azure":
        url = f"{provider.endpoint.rstrip('/')}/openai/models?api-version={provider.api_version or AZURE_API_VERSION}"
        return url, {"api-key": key} if key else {}
    if fmt == "anthropic":
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if key:
            headers["x-api-key"] = key
        return _under(provider.endpoint, "/v1", "/models"), headers
    if fmt == "gemini":
        return _under(provider.endpoint, "/v1beta", "/models"), {"x-goog-api-key": key} if key else {}
    return _under(provider.endpoint, "/v1", "/models"), {"authorization": f"Bearer {key}"} if key else {}


async def probe(client: httpx.AsyncClient, provider: Provider, environ: Mapping[str, str],
                timeout_s: float) -> str | None:
    """None when the provider is up, else what failed."""
    url, headers = probe_request(provider, environ)
    try:
        resp = await client.get(url, headers=headers, timeout=timeout_s)
    except httpx.TimeoutException:
        return f"no answer within {timeout_s:g} s"
    except httpx.HTTPError as exc:
        return f"cannot reach it: {type(exc).__name__}"
    limit = 400 if provider.health_url else 500
    return None if resp.status_code < limit else f"HTTP {resp.status_code}"
