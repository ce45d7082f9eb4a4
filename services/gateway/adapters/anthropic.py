"""Anthropic Messages wire format (`POST /v1/messages`), behind the OpenAI chat format clients speak.

System messages become `system`; content parts become content blocks (images as base64 or URL
sources); tool definitions, tool calls (`tool_use`) and tool results (`tool_result`) map both
ways; `max_tokens` is always sent because Anthropic requires it. A stream's events become OpenAI
chunks: `message_start` carries the input tokens, `message_delta` the output tokens and the stop
reason, and `message_stop` ends it (finish chunk, usage chunk, `[DONE]`).
"""

from __future__ import annotations

from typing import Any

import orjson

from services.common import jsonio
from services.common.registry.provider import Provider
from services.gateway.adapters import chunks
from services.gateway.adapters import messages as m
from services.gateway.adapters.base import StreamEvent, UpstreamRequest, Usage, sse_data

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
MAX_TEMPERATURE = 1.0  # Anthropic's range is 0..1, OpenAI's 0..2
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop", "max_tokens": "length",
                  "model_context_window_exceeded": "length", "tool_use": "tool_calls",
                  "refusal": "content_filter"}
USAGE_KEYS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def messages_url(endpoint: str) -> str:
    base = endpoint.rstrip("/")
    return base + ("/messages" if base.endswith("/v1") else "/v1/messages")


def finish_reason(stop_reason: Any) -> str:
    return FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def usage_from(counts: dict[str, Any]) -> Usage:
    """Anthropic's `input_tokens` leaves out the cached ones; Usage.input_tokens bills them all.
    `cache_creation` splits the writes by how long they are kept (`ephemeral_5m_input_tokens`,
    `ephemeral_1h_input_tokens`) and adds up to `cache_creation_input_tokens` (a split reported
    without its total, as some relays do, still counts)."""
    def count(key: str, source: dict[str, Any] = counts) -> int:
        value = source.get(key)
        return value if isinstance(value, int) else 0
    split = counts.get("cache_creation")
    split = split if isinstance(split, dict) else {}
    five_minutes, one_hour = count("ephemeral_5m_input_tokens", split), count("ephemeral_1h_input_tokens", split)
    read = count("cache_read_input_tokens")
    created = max(count("cache_creation_input_tokens"), five_minutes + one_hour)
    return Usage(count("input_tokens") + read + created, count("output_tokens"),
                 cache_read_input_tokens=read, cache_creation_input_tokens=created,
                 cache_creation_1h_input_tokens=one_hour)


# -- request ----------------------------------------------------------------------------------
def _image(url: str) -> dict[str, Any]:
    inline = m.data_url(url)
    if inline:
        return {"type": "image", "source": {"type": "base64", "media_type": inline[0], "data": inline[1]}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text" and part.get("text"):
            blocks.append({"type": "text", "text": part["text"]})
        elif part.get("type") == "image_url" and (url := m.image_url(part)):
            blocks.append(_image(url))
    return blocks


def _turn(message: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    role = message.get("role")
    if role == "tool":
        content = message.get("content")
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": str(message.get("tool_call_id") or ""),
                                  "content": content if isinstance(content, str) else _blocks(content)}
        return "user", [result]
    blocks = _blocks(message.get("content"))
    if role == "assistant":
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                blocks.append({"type": "tool_use", "id": str(call.get("id") or ""),
                               "name": str(function.get("name") or ""),
                               "input": m.arguments(function.get("arguments"))})
        return "assistant", blocks
    return "user", blocks


def _tool_choice(payload: dict[str, Any]) -> dict[str, Any] | None:
    choice = payload.get("tool_choice")
    parallel = payload.get("parallel_tool_calls")
    forced = m.forced_function(choice)
    if forced:
        out: dict[str, Any] = {"type": "tool", "name": forced}
    elif choice == "none":
        return {"type": "none"}
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "auto" or parallel is False:
        out = {"type": "auto"}
    else:
        return None
    if parallel is False:
        out["disable_parallel_tool_use"] = True
    return out


def request_body(provider: Provider, payload: dict[str, Any], *, stream: bool) -> dict[str, Any]:
    system, conversation = m.split_system(payload.get("messages") or [])
    body: dict[str, Any] = {
        "model": provider.model,
        "max_tokens": m.max_output(payload) or provider.max_output_tokens or DEFAULT_MAX_TOKENS,
        "messages": m.merged_turns(map(_turn, conversation), "content"),
    }
    if system:
        body["system"] = system
    if isinstance(payload.get("temperature"), int | float):
        body["temperature"] = min(float(payload["temperature"]), MAX_TEMPERATURE)
    if isinstance(payload.get("top_p"), int | float):
        body["top_p"] = payload["top_p"]
    if stops := m.stop_sequences(payload):
        body["stop_sequences"] = stops
    if isinstance(payload.get("user"), str):
        body["metadata"] = {"user_id": payload["user"]}
    if functions := m.functions(payload):
        body["tools"] = [{"name": f["name"], **({"description": f["description"]} if f.get("description") else {}),
                          "input_schema": f.get("parameters") or {"type": "object", "properties": {}}}
                         for f in functions]
        if choice := _tool_choice(payload):
            body["tool_choice"] = choice
    if stream:
        body["stream"] = True
    return body


# -- answers ------------------------------------------------------------------------------------
def completion(data: dict[str, Any]) -> tuple[dict[str, Any], Usage | None]:
    """An Anthropic `message` as an OpenAI `chat.completion`, and its usage."""
    text, calls = "", []
    content = data.get("content")
    for block in map(m.obj, content if isinstance(content, list) else []):
        if block.get("type") == "text":
            text += str(block.get("text") or "")
        elif block.get("type") == "tool_use":
            arguments = orjson.dumps(block.get("input") or {}).decode()
            calls.append(chunks.tool_call(str(block.get("id") or ""), str(block.get("name") or ""), arguments))
    usage = usage_from(data["usage"]) if isinstance(data.get("usage"), dict) else None
    choice = chunks.choice(0, text, calls, finish_reason(data.get("stop_reason")))
    response_id = str(data.get("id") or chunks.new_id())
    return chunks.completion(response_id, str(data.get("model") or ""), [choice], usage), usage


class AnthropicStream:
    """One Anthropic stream, event by event, as OpenAI chunks."""

    def __init__(self) -> None:
        self.out = chunks.ChunkWriter()
        self.counts: dict[str, Any] = {}
        self.stop_reason: str | None = None
        self.tool_index: dict[int, int] = {}  # content block index -> tool call index

    @property
    def usage(self) -> Usage | None:
        return usage_from(self.counts) if "output_tokens" in self.counts else None

    def _count(self, usage: Any) -> None:
        if isinstance(usage, dict):  # message_delta's counts are cumulative: the latest wins
            self.counts.update({k: usage[k] for k in USAGE_KEYS if isinstance(usage.get(k), int)})
            if isinstance(usage.get("cache_creation"), dict):  # the writes' split (message_start)
                self.counts["cache_creation"] = usage["cache_creation"]

    def parse_event(self, lines: list[bytes]) -> list[StreamEvent]:
        try:
            event = orjson.loads(sse_data(lines) or b"null")
        except orjson.JSONDecodeError:
            return []
        event = m.obj(event)
        kind = event.get("type")
        if kind == "message_start":
            message = m.obj(event.get("message"))
            self.out.id = str(message.get("id") or self.out.id)
            self.out.model = str(message.get("model") or "")
            input_counts = dict(m.obj(message.get("usage")))
            input_counts.pop("output_tokens", None)  # a placeholder; message_delta has the count
            self._count(input_counts)
            return [self.out.delta({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            return self._block_start(event)
        if kind == "content_block_delta":
            return self._block_delta(event)
        if kind == "message_delta":
            self.stop_reason = m.obj(event.get("delta")).get("stop_reason") or self.stop_reason
            self._count(event.get("usage"))
            return [StreamEvent(b"", usage=self.usage)]
        if kind == "message_stop":
            return self.out.closing({0: finish_reason(self.stop_reason)}, self.usage)
        if kind == "error":
            err = m.obj(event.get("error"))
            return [chunks.error_event(str(err.get("type") or "upstream_error"), str(err.get("message") or ""))]
        return []  # ping, content_block_stop, and event types this gateway does not translate

    def _block_start(self, event: dict[str, Any]) -> list[StreamEvent]:
        block = m.obj(event.get("content_block"))
        if block.get("type") == "tool_use" and isinstance(event.get("index"), int):
            index = self.tool_index[event["index"]] = len(self.tool_index)
            call = {"index": index, **chunks.tool_call(str(block.get("id") or ""), str(block.get("name") or ""), "")}
            return [self.out.delta({"tool_calls": [call]})]
        if block.get("type") == "text" and block.get("text"):
            return [self.out.delta({"content": block["text"]}, text=block["text"])]
        return []

    def _block_delta(self, event: dict[str, Any]) -> list[StreamEvent]:
        delta = m.obj(event.get("delta"))
        if delta.get("type") == "text_delta":
            text = str(delta.get("text") or "")
            return [self.out.delta({"content": text}, text=text)]
        index = event.get("index")
        if delta.get("type") == "input_json_delta" and isinstance(index, int) and index in self.tool_index:
            part = str(delta.get("partial_json") or "")
            call = {"index": self.tool_index[index], "function": {"arguments": part}}
            return [self.out.delta({"tool_calls": [call]}, text=part)]
        return []


class AnthropicAdapter(chunks.TranslatingAdapter):
    api_format = "anthropic"

    def build_request(self, provider: Provider, payload: dict[str, Any], api_key: str | None,
                      *, stream: bool) -> UpstreamRequest:
        headers = {"content-type": "application/json", "anthropic-version": API_VERSION}
        if api_key:
            headers["x-api-key"] = api_key
        return UpstreamRequest(messages_url(provider.endpoint), headers,
                               jsonio.dumps(request_body(provider, payload, stream=stream)))

    def completion(self, data: dict[str, Any]) -> tuple[dict[str, Any], Usage | None]:
        return completion(data)

    def stream_parser(self) -> AnthropicStream:
        return AnthropicStream()
