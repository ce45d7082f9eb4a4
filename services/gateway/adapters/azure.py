"""Azure OpenAI: OpenAI's wire format at a deployment URL.

The provider's endpoint is the resource URL (`https://<resource>.openai.azure.com`), its model
is the deployment name, the key goes in the `api-key` header and every call names an
`api-version` (the provider's own, or DEFAULT_API_VERSION). Answers, streams, embeddings and
errors are OpenAI's, read by the OpenAI adapter.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from services.common.registry.provider import Provider
from services.gateway.adapters.base import UpstreamRequest
from services.gateway.adapters.openai import OpenAIAdapter, chat_body, embeddings_body

DEFAULT_API_VERSION = "2024-10-21"  # GA; streams report usage (stream_options.include_usage)


def deployment_url(endpoint: str, deployment: str, api_version: str, operation: str = "chat/completions") -> str:
    return (f"{endpoint.rstrip('/')}/openai/deployments/{quote(deployment, safe='')}/{operation}"
            f"?api-version={quote(api_version, safe='')}")


def _headers(api_key: str | None) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    if api_key:
        headers["api-key"] = api_key
    return headers


class AzureAdapter(OpenAIAdapter):
    api_format = "azure"

    def build_request(self, provider: Provider, payload: dict[str, Any], api_key: str | None,
                      *, stream: bool) -> UpstreamRequest:
        url = deployment_url(provider.endpoint, provider.model, provider.api_version or DEFAULT_API_VERSION)
        return UpstreamRequest(url, _headers(api_key), chat_body(payload, provider.model, stream=stream))

    def build_embeddings_request(self, provider: Provider, payload: dict[str, Any],
                                 api_key: str | None) -> UpstreamRequest:
        url = deployment_url(provider.endpoint, provider.model, provider.api_version or DEFAULT_API_VERSION,
                             "embeddings")
        return UpstreamRequest(url, _headers(api_key), embeddings_body(payload, provider.model))
