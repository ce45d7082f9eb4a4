"""`POST /v1/messages/count_tokens` at the provider: when the provider routing chooses for the
request speaks Anthropic's format, the gateway asks its `/v1/messages/count_tokens` (with the
request as the messages call would send it: model, system, messages, tools); any other provider,
or a count that fails (an error status, a timeout, an answer without `input_tokens`), gives the
gateway's own estimate (services/common/selection/estimate.py). The answer says which: header
`x-tollway-token-count: provider` (and `x-tollway-provider`) or `estimate` (and, when a provider
was asked and failed, `x-tollway-token-count-fallback` says why). Nothing is charged either way."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson

from services.common import jsonio
from services.common.registry.provider import Provider
from services.gateway.adapters.anthropic import request_body
from services.gateway.adapters.base import Adapter, UpstreamRequest
from services.gateway.forwarding.upstream import UpstreamClient

COUNT_TIMEOUT_S = 10.0  # at most (the read timeout, if shorter): a count that waits longer is estimated
COUNTED = ("model", "system", "messages", "tools", "tool_choice")  # what Anthropic's count_tokens takes


@dataclass(frozen=True)
class TokenCount:
    input_tokens: int
    source: str  # "provider" or "estimate"
    provider: str | None = None  # the provider that counted (or was asked and failed)
    fallback: str | None = None  # why the estimate answered after a provider was asked

    def headers(self) -> dict[str, str]:
        out = {"x-tollway-token-count": self.source}
        if self.provider is not None and self.source == "provider":
            out["x-tollway-provider"] = self.provider
        if self.fallback is not None:
            out["x-tollway-token-count-fallback"] = self.fallback
        return out


class CountFailed(Exception):
    """The provider did not count: the reason, in words safe to show (no key, no URL)."""


def count_request(adapter: Adapter, provider: Provider, payload: dict[str, Any],
                  api_key: str | None) -> UpstreamRequest:
    """The messages call's URL, headers (key, version) and body, made a count."""
    message = adapter.build_request(provider, payload, api_key, stream=False)
    body = request_body(provider, payload, stream=False)
    return UpstreamRequest(message.url + "/count_tokens", message.headers,
                           jsonio.dumps({k: body[k] for k in COUNTED if k in body}))


async def provider_count(upstream: UpstreamClient, req: UpstreamRequest, timeout_s: float) -> int:
    try:
        async with asyncio.timeout(timeout_s):
            resp = await upstream.open(req)
            raw = await resp.read()
    except TimeoutError:
        raise CountFailed(f"no answer within {timeout_s:g} s") from None
    except Exception as exc:  # any client's failure (http1's or aiohttp's): the estimate answers
        raise CountFailed(f"unreachable ({type(exc).__name__})") from None
    if resp.status != 200:
        raise CountFailed(f"HTTP {resp.status}")
    try:
        tokens = orjson.loads(raw).get("input_tokens")
    except (orjson.JSONDecodeError, AttributeError):
        tokens = None
    if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
        raise CountFailed("an answer without input_tokens")
    return tokens


async def counted(upstream: UpstreamClient, provider: Provider, adapter: Adapter | None, payload: dict[str, Any],
                  api_key: str | None, estimate: int, timeout_s: float) -> TokenCount:
    """The provider's count when `provider` speaks Anthropic's format and counts, else `estimate`."""
    if provider.api_format != "anthropic" or adapter is None:
        return TokenCount(estimate, "estimate")
    try:
        tokens = await provider_count(upstream, count_request(adapter, provider, payload, api_key), timeout_s)
    except CountFailed as exc:
        return TokenCount(estimate, "estimate", provider.name, f"{provider.name}: {exc}")
    return TokenCount(tokens, "provider", provider.name)
