"""OpenAI-compatible wire format (OpenAI, Groq, Together, Mistral, vLLM, Ollama, llama.cpp...).

The request passes through with the provider's model name; streams always ask for usage
(`stream_options.include_usage`) so streamed spend is never recorded as zero. Embeddings
(`/v1/embeddings`) pass through the same way.
"""

from __future__ import annotations

from typing import Any

import orjson

from services.common import jsonio
from services.common.registry.provider import Provider
from services.gateway.adapters.base import (
    ParsedResponse,
    StreamEvent,
    UpstreamRequest,
    Usage,
    error_message,
    sse_data,
)

DONE = b"[DONE]"


def v1_url(endpoint: str, path: str) -> str:
    base = endpoint.rstrip("/")
    return base + (path if base.endswith("/v1") else "/v1" + path)


def chat_url(endpoint: str) -> str:
    return v1_url(endpoint, "/chat/completions")


def embeddings_body(payload: dict[str, Any], model: str) -> bytes:
    return jsonio.dumps({**payload, "model": model})


def parse_embeddings(raw: bytes) -> ParsedResponse:
    """An OpenAI embeddings answer, as is; its usage counts input tokens only."""
    data = orjson.loads(raw)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ValueError("upstream answer is not an embeddings list")
    return ParsedResponse(raw, data, _usage(data))


def _usage(data: dict[str, Any]) -> Usage | None:
    """`prompt_tokens` counts every prompt token; of them, `prompt_tokens_details.cached_tokens`
    were read from the prompt cache and `cache_write_tokens` written to it."""
    usage = data.get("usage")
    if not isinstance(usage, dict):
        return None
    details = usage.get("prompt_tokens_details")
    details = details if isinstance(details, dict) else {}
    try:
        return Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0),
                     cache_read_input_tokens=int(details.get("cached_tokens") or 0),
                     cache_creation_input_tokens=int(details.get("cache_write_tokens") or 0))
    except (TypeError, ValueError):
        return None


def chat_body(payload: dict[str, Any], model: str, *, stream: bool) -> bytes:
    """The client's request for `model`; a stream always asks for usage."""
    body = dict(payload)
    body["model"] = model
    if stream:
        body["stream"] = True
        opts = dict(body.get("stream_options") or {})
        opts["include_usage"] = True
        body["stream_options"] = opts
    return jsonio.dumps(body)


class OpenAIAdapter:
    api_format = "openai"

    def build_request(self, provider: Provider, payload: dict[str, Any], api_key: str | None,
                      *, stream: bool) -> UpstreamRequest:
        headers = {"content-type": "application/json"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        return UpstreamRequest(chat_url(provider.endpoint), headers,
                               chat_body(payload, provider.model, stream=stream))

    def parse_response(self, raw: bytes) -> ParsedResponse:
        data = orjson.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("upstream answer is not a JSON object")
        return ParsedResponse(raw, data, _usage(data))

    def stream_parser(self) -> OpenAIStream:
        return OpenAIStream()

    def build_embeddings_request(self, provider: Provider, payload: dict[str, Any],
                                 api_key: str | None) -> UpstreamRequest:
        headers = {"content-type": "application/json"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        return UpstreamRequest(v1_url(provider.endpoint, "/embeddings"), headers,
                               embeddings_body(payload, provider.model))

    def parse_embeddings(self, raw: bytes) -> ParsedResponse:
        return parse_embeddings(raw)

    def error_message(self, status: int, raw: bytes) -> str:
        return error_message(status, raw)


class OpenAIStream:
    """OpenAI chunks pass through as they are; each is read for text (tool call arguments
    included, as other formats' parsers count them), usage and the end marker."""

    def parse_event(self, lines: list[bytes]) -> list[StreamEvent]:
        raw = b"".join(lines)
        payload = sse_data(lines)
        if not payload:
            return [StreamEvent(raw)]  # a comment or keep-alive: passes through
        if payload == DONE:
            return [StreamEvent(raw, done=True)]
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return [StreamEvent(raw)]
        if not isinstance(chunk, dict):
            return [StreamEvent(raw)]
        choices = chunk.get("choices") or []
        usage = _usage(chunk)
        event = StreamEvent(raw, usage=usage, usage_only=usage is not None and not choices)
        for choice in choices:
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                event.text += delta["content"]
            for call in delta.get("tool_calls") or []:  # a tool call's arguments are generated tokens too
                arguments = (call.get("function") or {}).get("arguments") if isinstance(call, dict) else None
                if isinstance(arguments, str):
                    event.text += arguments
            if choice.get("finish_reason"):
                event.finish_reason = choice["finish_reason"]
        return [event]
