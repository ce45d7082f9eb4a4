"""Anthropic Messages wire format (`POST /v1/messages`): request parsing, `message` bodies, the
SSE event sequence (message_start, content_block_start, ping, content_block_delta...,
content_block_stop, message_delta, message_stop) and errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from services.common.errors import InvalidRequest
from services.simulator.reply import Call, Reply

MEDIA_TYPE = "application/json"
STREAM_MEDIA_TYPE = "text/event-stream"
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens"}
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
               404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
               529: "overloaded_error"}


def _text(content: Any) -> str:
    """A message's text: string content, or its text blocks and tool results' text joined."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = []
    for block in content:
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif block.get("type") == "tool_result":
            texts.append(_text(block.get("content")))
    return " ".join(texts)


def parse_request(body: dict[str, Any]) -> Call:
    """A Messages API body as a format-neutral Call; the checks the real API makes first."""
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise InvalidRequest("model: Field required", field="model")
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise InvalidRequest("max_tokens: Field required (an integer of at least 1)", field="max_tokens")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages: at least one message is required", field="messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise InvalidRequest(f"messages.{i}.role: Input should be 'user' or 'assistant'", field=f"messages.{i}")
    texts = [_text(m.get("content")) for m in messages]
    system = _text(body.get("system"))
    last_user = next((t for m, t in zip(reversed(messages), reversed(texts), strict=True)
                      if m.get("role") == "user"), texts[-1])
    return Call(model=body["model"], texts=tuple(([system] if system else []) + texts),
                last_user_text=last_user, max_tokens=max_tokens, stream=bool(body.get("stream")),
                include_usage=True)


def _usage(reply: Reply, output_tokens: int) -> dict[str, int]:
    return {"input_tokens": reply.prompt_tokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
            "output_tokens": output_tokens}


def _message(reply: Reply, content: list[dict[str, Any]], stop_reason: str | None,
             output_tokens: int) -> dict[str, Any]:
    return {"id": "msg_" + reply.id, "type": "message", "role": "assistant", "model": reply.model,
            "content": content, "stop_reason": stop_reason, "stop_sequence": None,
            "usage": _usage(reply, output_tokens)}


def completion(reply: Reply) -> bytes:
    """The non-streaming answer, a `message` object."""
    return orjson.dumps(_message(reply, [{"type": "text", "text": reply.text}],
                                 STOP_REASONS[reply.finish_reason], reply.completion_tokens))


def _event(kind: str, data: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **data}) + b"\n\n"


def stream_events(reply: Reply, include_usage: bool) -> Iterator[tuple[bytes, bool]]:
    """SSE events as (bytes, is_token); usage is always in message_start and message_delta."""
    # like the real API, message_start counts one output token; message_delta has the total
    yield _event("message_start", {"message": _message(reply, [], None, 1)}), False
    yield _event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}), False
    yield _event("ping", {}), False
    for piece in reply.pieces:
        yield _event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": piece}}), True
    yield _event("content_block_stop", {"index": 0}), False
    yield _event("message_delta", {"delta": {"stop_reason": STOP_REASONS[reply.finish_reason], "stop_sequence": None},
                                   "usage": {"output_tokens": reply.completion_tokens}}), False
    yield _event("message_stop", {}), False


def error(status: int, message: str, *, param: str | None = None, code: str | None = None) -> bytes:
    kind = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})
