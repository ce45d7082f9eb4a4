"""Anthropic Messages wire format (`POST /v1/messages`): request parsing, `message` bodies, the
SSE event sequence (message_start, content_block_start, ping, content_block_delta...,
content_block_stop, message_delta, message_stop) and errors. Tool use too: a `tool_result` block
must answer a `tool_use` block of the assistant message just before it, as Anthropic checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from services.common.errors import InvalidRequest
from services.simulator.reply import Call, Reply

MEDIA_TYPE = "application/json"
STREAM_MEDIA_TYPE = "text/event-stream"
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
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


def _blocks(message: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    content = message.get("content")
    return [b for b in content if isinstance(b, dict) and b.get("type") == kind] if isinstance(content, list) else []


def _check_tool_results(messages: list[dict[str, Any]]) -> None:
    """Every tool_result block answers a tool_use block of the message just before it."""
    for i, message in enumerate(messages):
        called = {b.get("id") for b in _blocks(messages[i - 1], "tool_use")} if i else set()
        for j, block in enumerate(_blocks(message, "tool_result")):
            if block.get("tool_use_id") not in called:
                raise InvalidRequest(f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` "
                                     f"blocks: {block.get('tool_use_id')}. Each `tool_result` block must have a "
                                     "corresponding `tool_use` block in the previous message.",
                                     field=f"messages.{i}.content.{j}")


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
    _check_tool_results(messages)
    texts = [_text(m.get("content")) for m in messages]
    system = _text(body.get("system"))
    last_user = next((t for m, t in zip(reversed(messages), reversed(texts), strict=True)
                      if m.get("role") == "user"), texts[-1])
    return Call(model=body["model"], texts=tuple(([system] if system else []) + texts),
                last_user_text=last_user, max_tokens=max_tokens, stream=bool(body.get("stream")),
                include_usage=True, after_tool_result=bool(_blocks(messages[-1], "tool_result")),
                tools=tuple(t["name"] for t in body.get("tools") or []
                            if isinstance(t, dict) and isinstance(t.get("name"), str)))


def _usage(reply: Reply, output_tokens: int) -> dict[str, Any]:
    """Anthropic's `input_tokens` leaves out the tokens read from and written to the prompt cache;
    `cache_creation` splits the writes by lifetime (5 minutes, 1 hour), their total being
    `cache_creation_input_tokens`."""
    return {"input_tokens": reply.prompt_tokens, "cache_creation_input_tokens": reply.cache_written,
            "cache_read_input_tokens": reply.cache_read,
            "cache_creation": {"ephemeral_5m_input_tokens": reply.cache_write,
                               "ephemeral_1h_input_tokens": reply.cache_write_1h},
            "output_tokens": output_tokens}


def _message(reply: Reply, content: list[dict[str, Any]], stop_reason: str | None,
             output_tokens: int) -> dict[str, Any]:
    return {"id": "msg_" + reply.id, "type": "message", "role": "assistant", "model": reply.model,
            "content": content, "stop_reason": stop_reason, "stop_sequence": None,
            "usage": _usage(reply, output_tokens)}


def _tool_use(reply: Reply, tool_input: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": "toolu_" + reply.id, "name": reply.tool, "input": tool_input}


def completion(reply: Reply) -> bytes:
    """The non-streaming answer, a `message` object."""
    block = (_tool_use(reply, orjson.loads(reply.arguments)) if reply.tool
             else {"type": "text", "text": reply.text})
    return orjson.dumps(_message(reply, [block], STOP_REASONS[reply.finish_reason], reply.completion_tokens))


def _event(kind: str, data: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **data}) + b"\n\n"


def stream_events(reply: Reply, include_usage: bool) -> Iterator[tuple[bytes, bool]]:
    """SSE events as (bytes, is_token); usage is always in message_start and message_delta."""
    # like the real API, message_start counts one output token; message_delta has the total
    yield _event("message_start", {"message": _message(reply, [], None, 1)}), False
    block = _tool_use(reply, {}) if reply.tool else {"type": "text", "text": ""}
    yield _event("content_block_start", {"index": 0, "content_block": block}), False
    yield _event("ping", {}), False
    for piece in reply.pieces:
        delta = ({"type": "input_json_delta", "partial_json": piece} if reply.tool
                 else {"type": "text_delta", "text": piece})
        yield _event("content_block_delta", {"index": 0, "delta": delta}), True
    yield _event("content_block_stop", {"index": 0}), False
    yield _event("message_delta", {"delta": {"stop_reason": STOP_REASONS[reply.finish_reason], "stop_sequence": None},
                                   "usage": {"output_tokens": reply.completion_tokens}}), False
    yield _event("message_stop", {}), False


def error(status: int, message: str, *, param: str | None = None, code: str | None = None) -> bytes:
    kind = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})
