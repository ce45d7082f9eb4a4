"""What is sent for a call and how its answer is read, by kind: a chat completion (every
adapter) or embeddings (adapters that implement `EmbeddingsAdapter`)."""

from __future__ import annotations

from services.common.registry.provider import Provider
from services.gateway.adapters.base import Adapter, EmbeddingsAdapter, ParsedResponse, UpstreamRequest
from services.gateway.call import Call
from services.gateway.forwarding.fallback import BuildRequest


def request_builder(call: Call, *, stream: bool) -> BuildRequest:
    """The upstream request for `call` in each provider's format; ValueError when a format
    cannot carry it (the provider is skipped)."""
    payload = call.payload
    traced = call.trace.header() if call.trace is not None else None
    if call.kind == "embeddings":
        def embeddings(adapter: Adapter, provider: Provider, key: str | None) -> UpstreamRequest:
            if not isinstance(adapter, EmbeddingsAdapter):
                raise ValueError(f"api_format {provider.api_format} has no embeddings endpoint in this gateway")
            return _traced(adapter.build_embeddings_request(provider, payload, key), traced)
        return embeddings

    def chat(adapter: Adapter, provider: Provider, key: str | None) -> UpstreamRequest:
        return _traced(adapter.build_request(provider, payload, key, stream=stream), traced)
    return chat


def _traced(req: UpstreamRequest, traceparent: str | None) -> UpstreamRequest:
    """The caller's trace context goes on to the provider (with tracing on, each attempt's own
    span replaces it: forwarding/fallback.py)."""
    if traceparent is not None:
        req.headers["traceparent"] = traceparent
    return req


def parse_answer(adapter: Adapter, body: bytes, kind: str) -> ParsedResponse | None:
    """The adapter's OpenAI translation of a whole answer; None when it cannot be read."""
    try:
        if kind == "embeddings" and isinstance(adapter, EmbeddingsAdapter):
            return adapter.parse_embeddings(body)
        return adapter.parse_response(body)
    except (ValueError, TypeError, KeyError):
        return None
