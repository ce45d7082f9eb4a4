"""The pipeline's OpenAI answers in Anthropic's Messages format: a `chat.completion` as a
`message`, finish reasons as stop reasons, usage as Anthropic's (whose `input_tokens` leaves out
the tokens read from and written to the prompt cache), and errors as
`{"type": "error", "error": {"type", "message"}}`."""

from __future__ import annotations

import os
from typing import Any

import orjson

from services.common.errors import TollwayError

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use",
                "content_filter": "refusal"}
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
               403: "permission_error", 404: "not_found_error", 409: "invalid_request_error",
               413: "request_too_large", 429: "rate_limit_error", 503: "overloaded_error", 529: "overloaded_error"}


def message_id() -> str:
    return "msg_" + os.urandom(12).hex()


def stop_reason(finish_reason: Any) -> str | None:
    return STOP_REASONS.get(finish_reason, "end_turn") if finish_reason else None


def usage(openai_usage: Any) -> dict[str, int]:
    u = openai_usage if isinstance(openai_usage, dict) else {}
    details = u.get("prompt_tokens_details")
    details = details if isinstance(details, dict) else {}
    cached, written = int(details.get("cached_tokens") or 0), int(details.get("cache_write_tokens") or 0)
    return {"input_tokens": max(int(u.get("prompt_tokens") or 0) - cached - written, 0),
            "output_tokens": int(u.get("completion_tokens") or 0),
            "cache_read_input_tokens": cached, "cache_creation_input_tokens": written}


def _arguments(raw: Any) -> Any:
    try:
        value = orjson.loads(raw) if isinstance(raw, str) and raw else {}
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def to_message(completion: dict[str, Any], model: str) -> dict[str, Any]:
    choice = (completion.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    if message.get("content"):
        content.append({"type": "text", "text": message["content"]})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        content.append({"type": "tool_use", "id": call.get("id") or "", "name": function.get("name") or "",
                        "input": _arguments(function.get("arguments"))})
    return {"id": message_id(), "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": stop_reason(choice.get("finish_reason")) or "end_turn", "stop_sequence": None,
            "usage": usage(completion.get("usage"))}


def error_body(status: int, message: str) -> bytes:
    kind = ERROR_TYPES.get(status, "api_error")
    return orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})


def error_of(exc: TollwayError) -> bytes:
    return error_body(exc.status, exc.message)
