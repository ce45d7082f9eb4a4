"""OpenAI chat-completions wire format: request parsing, `chat.completion` bodies, SSE chunks,
errors and the model list. Tool calls too: a `tool` message must answer a tool call of an earlier
assistant message (by `tool_call_id`), as OpenAI checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from services.common import contracts
from services.common.errors import InvalidRequest
from services.simulator.reply import Call, Reply

MEDIA_TYPE = "application/json"
STREAM_MEDIA_TYPE = "text/event-stream"
DONE = b"data: [DONE]\n\n"

ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
               404: "not_found_error", 429: "rate_limit_error", 503: "service_unavailable"}
ERROR_CODES = {429: "rate_limit_exceeded", 500: "internal_error", 502: "bad_gateway",
               503: "service_unavailable", 504: "timeout"}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content
                        if isinstance(part, dict) and isinstance(part.get("text"), str))
    return ""


def _tool_names(body: dict[str, Any]) -> tuple[str, ...]:
    functions = [tool.get("function") for tool in body.get("tools") or [] if isinstance(tool, dict)]
    return tuple(f["name"] for f in functions if isinstance(f, dict) and isinstance(f.get("name"), str))


def _check_tool_results(messages: list[dict[str, Any]]) -> None:
    """Every `tool` message answers a tool call an earlier assistant message made."""
    called: set[str] = set()
    for i, message in enumerate(messages):
        if message.get("role") == "assistant":
            called.update(str(c.get("id")) for c in message.get("tool_calls") or [] if isinstance(c, dict))
        elif message.get("role") == "tool" and message.get("tool_call_id") not in called:
            raise InvalidRequest("Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                                 "message with 'tool_calls'.", field=f"messages.[{i}].role")


def parse_request(body: dict[str, Any]) -> Call:
    """A chat-completions body (valid against contracts/chat_request) as a format-neutral Call."""
    contracts.validate("chat_request", body)
    messages = body["messages"]
    _check_tool_results(messages)
    texts = tuple(_text(m.get("content")) for m in messages)
    last_user = next((t for m, t in zip(reversed(messages), reversed(texts), strict=True)
                      if m.get("role") == "user"), texts[-1])
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    options = body.get("stream_options") or {}
    return Call(model=body.get("model") or "sim-model", texts=texts, last_user_text=last_user,
                max_tokens=max_tokens, stream=bool(body.get("stream")),
                include_usage=bool(options.get("include_usage")), tools=_tool_names(body),
                after_tool_result=messages[-1].get("role") == "tool")


def _usage(reply: Reply) -> dict[str, Any]:
    """`prompt_tokens` counts every prompt token, those read from the prompt cache
    (`cached_tokens`) and written to it (`cache_write_tokens`, whatever their lifetime) among them."""
    usage: dict[str, Any] = {"prompt_tokens": reply.input_tokens, "completion_tokens": reply.completion_tokens,
                             "total_tokens": reply.input_tokens + reply.completion_tokens}
    if reply.cache_read or reply.cache_written:
        usage["prompt_tokens_details"] = {"cached_tokens": reply.cache_read, "cache_write_tokens": reply.cache_written}
    return usage


def _tool_call(reply: Reply, arguments: str) -> dict[str, Any]:
    return {"id": "call_" + reply.id, "type": "function", "function": {"name": reply.tool, "arguments": arguments}}


def completion(reply: Reply) -> bytes:
    """The non-streaming answer, a `chat.completion` object."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
    if reply.tool:
        message.update(content=None, tool_calls=[_tool_call(reply, reply.arguments)])
    return orjson.dumps({
        "id": "chatcmpl-" + reply.id, "object": "chat.completion", "created": reply.created,
        "model": reply.model, "system_fingerprint": "tollway-sim",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish_reason}],
        "usage": _usage(reply),
    })


def _event(reply: Reply, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
    chunk: dict[str, Any] = {"id": "chatcmpl-" + reply.id, "object": "chat.completion.chunk",
                             "created": reply.created, "model": reply.model,
                             "system_fingerprint": "tollway-sim", "choices": choices}
    if usage is not None:
        chunk["usage"] = usage
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def stream_events(reply: Reply, include_usage: bool) -> Iterator[tuple[bytes, bool]]:
    """SSE events as (bytes, is_token): role chunk, one chunk per token (paced), the finish chunk,
    the usage chunk when asked for, then `[DONE]`. A tool call comes as OpenAI streams one: its id
    and name in the role chunk, then its arguments piece by piece."""
    first: dict[str, Any] = {"role": "assistant", "content": ""}
    if reply.tool:
        first = {"role": "assistant", "content": None, "tool_calls": [{"index": 0, **_tool_call(reply, "")}]}
    yield _event(reply, [{"index": 0, "delta": first, "logprobs": None, "finish_reason": None}]), False
    for piece in reply.pieces:
        delta = ({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]} if reply.tool
                 else {"content": piece})
        yield _event(reply, [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}]), True
    yield _event(reply, [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": reply.finish_reason}]), False
    if include_usage:
        yield _event(reply, [], _usage(reply)), False
    yield DONE, False


def error(status: int, message: str, *, param: str | None = None, code: str | None = None) -> bytes:
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return orjson.dumps({"error": {"message": message, "type": kind, "param": param,
                                   "code": code or ERROR_CODES.get(status, kind)}})


def models(ids: list[str], created: int) -> bytes:
    return orjson.dumps({"object": "list", "data": [
        {"id": model, "object": "model", "created": created, "owned_by": "tollway-simulator"} for model in ids]})
