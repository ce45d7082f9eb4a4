"""OpenAI-compatible wire format (OpenAI, Groq, Together, Mistral, vLLM, Ollama, llama.cpp...).

The request passes through with the provider's model name; streams always ask for usage
(`stream_options.include_usage`) so streamed spend is never recorded as zero.
"""

from __future__ import annotations

from typing import Any

import orjson

from services.common import jsonio
from services.common.registry.provider import Provider
from services.gateway.adapters.base import ParsedResponse, StreamEvent, UpstreamRequest, Usage

DONE = b"[DONE]"


def chat_url(endpoint: str) -> str:
    base = endpoint.rstrip("/")
    return base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")


def _usage(data: dict[str, Any]) -> Usage | None:
    usage = data.get("usage")
    if not isinstance(usage, dict):
        return None
    try:
        return Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
    except (TypeError, ValueError):
        return None


class OpenAIAdapter:
    api_format = "openai"

    def build_request(self, provider: Provider, payload: dict[str, Any], api_key: str | None,
                      *, stream: bool) -> UpstreamRequest:
        body = dict(payload)
        body["model"] = provider.model
        if stream:
            body["stream"] = True
            opts = dict(body.get("stream_options") or {})
            opts["include_usage"] = True
            body["stream_options"] = opts
        headers = {"content-type": "application/json"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        return UpstreamRequest(chat_url(provider.endpoint), headers, jsonio.dumps(body))

    def parse_response(self, raw: bytes) -> ParsedResponse:
        data = orjson.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("upstream answer is not a JSON object")
        return ParsedResponse(raw, data, _usage(data))

    def parse_event(self, lines: list[bytes]) -> StreamEvent | None:
        raw = b"".join(lines)
        payload = b"".join(line[5:].strip() for line in lines if line.startswith(b"data:"))
        if not payload:
            return StreamEvent(raw)  # a comment or keep-alive: passes through
        if payload == DONE:
            return StreamEvent(raw, done=True)
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return StreamEvent(raw)
        choices = chunk.get("choices") or []
        usage = _usage(chunk)
        event = StreamEvent(raw, usage=usage, usage_only=usage is not None and not choices)
        for choice in choices:
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                event.text += delta["content"]
            if choice.get("finish_reason"):
                event.finish_reason = choice["finish_reason"]
        return event

    def error_message(self, status: int, raw: bytes) -> str:
        try:
            data = orjson.loads(raw)
            err = data.get("error") if isinstance(data, dict) else None
            if isinstance(err, dict) and err.get("message"):
                return str(err["message"])[:500]
        except orjson.JSONDecodeError:
            pass
        return raw[:200].decode("utf-8", "replace") or f"HTTP {status}"
