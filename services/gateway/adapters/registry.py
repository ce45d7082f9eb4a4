"""Which adapter speaks which `api_format`."""

from __future__ import annotations

from services.gateway.adapters.anthropic import AnthropicAdapter
from services.gateway.adapters.azure import AzureAdapter
from services.gateway.adapters.base import Adapter
from services.gateway.adapters.gemini import GeminiAdapter
from services.gateway.adapters.openai import OpenAIAdapter

ADAPTERS: dict[str, Adapter] = {
    "openai": OpenAIAdapter(),
    "azure": AzureAdapter(),
    "anthropic": AnthropicAdapter(),
    "gemini": GeminiAdapter(),
}


def adapter_for(api_format: str) -> Adapter | None:
    return ADAPTERS.get(api_format)
