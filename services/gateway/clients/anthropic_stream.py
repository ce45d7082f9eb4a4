"""The pipeline's OpenAI stream (the relay's SSE, chunk by chunk) as Anthropic Messages events:
`message_start`, per content block `content_block_start` / `content_block_delta` (text or tool
input JSON) / `content_block_stop`, then `message_delta` (stop reason, usage) and `message_stop`.
An error event from the relay (a stream cut short, a stall) becomes Anthropic's `error` event,
never a clean-looking end."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

import orjson

from services.gateway.clients.anthropic_answer import message_id, stop_reason, usage


def sse(kind: str, data: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **data}) + b"\n\n"


def _payloads(raw: bytes) -> list[bytes]:
    return [line[5:].strip() for line in raw.splitlines() if line.startswith(b"data:")]


class MessageStream:
    def __init__(self, model: str) -> None:
        self.model = model
        self.started = False
        self.index = -1
        self.block: str | None = None  # the open block: "text" or "tool_use"
        self.tools: dict[int, int] = {}  # OpenAI tool call index -> content block index
        self.finish: str | None = None
        self.usage: dict[str, int] = usage(None)

    def _start(self) -> list[bytes]:
        if self.started:
            return []
        self.started = True
        message: dict[str, Any] = {"id": message_id(), "type": "message", "role": "assistant", "model": self.model,
                                   "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage(None)}
        return [sse("message_start", {"message": message}), sse("ping", {})]

    def _open(self, kind: str, block: dict[str, Any]) -> list[bytes]:
        out = self._close()
        self.index += 1
        self.block = kind
        return [*out, sse("content_block_start", {"index": self.index, "content_block": block})]

    def _close(self) -> list[bytes]:
        if self.block is None:
            return []
        self.block = None
        return [sse("content_block_stop", {"index": self.index})]

    def chunk(self, chunk: dict[str, Any]) -> list[bytes]:
        out = self._start()
        if isinstance(chunk.get("usage"), dict):
            self.usage = usage(chunk["usage"])
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                if self.block != "text":
                    out += self._open("text", {"type": "text", "text": ""})
                out.append(sse("content_block_delta", {"index": self.index,
                                                       "delta": {"type": "text_delta", "text": delta["content"]}}))
            for call in delta.get("tool_calls") or []:
                out += self._tool_delta(call)
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]
        return out

    def _tool_delta(self, call: dict[str, Any]) -> list[bytes]:
        out: list[bytes] = []
        function = call.get("function") or {}
        position = call.get("index", 0)
        if position not in self.tools:
            out += self._open("tool_use", {"type": "tool_use", "id": call.get("id") or "",
                                           "name": function.get("name") or "", "input": {}})
            self.tools[position] = self.index
        if function.get("arguments"):
            out.append(sse("content_block_delta", {"index": self.tools[position],
                                                   "delta": {"type": "input_json_delta",
                                                             "partial_json": function["arguments"]}}))
        return out

    def end(self) -> list[bytes]:
        return [*self._start(), *self._close(),
                sse("message_delta", {"delta": {"stop_reason": stop_reason(self.finish) or "end_turn",
                                                "stop_sequence": None}, "usage": self.usage}),
                sse("message_stop", {})]

    def error(self, err: dict[str, Any]) -> list[bytes]:
        return [sse("error", {"error": {"type": "api_error", "message": str(err.get("message") or err)}})]


async def anthropic_events(openai_sse: AsyncGenerator[bytes, None], model: str) -> AsyncIterator[bytes]:
    """Translate the relay's events as they come (nothing is buffered past one event). Closing
    this closes the relay at once (a client that left: its receipt, the upstream closed)."""
    stream = MessageStream(model)
    async with aclosing(openai_sse):
        async for raw in openai_sse:
            for payload in _payloads(raw):
                if payload == b"[DONE]":
                    for event in stream.end():
                        yield event
                    return
                try:
                    data = orjson.loads(payload)
                except orjson.JSONDecodeError:
                    continue
                if not isinstance(data, dict):
                    continue
                events = stream.error(data["error"]) if isinstance(data.get("error"), dict) else stream.chunk(data)
                for event in events:
                    yield event
