"""Streams and cached answers: a cached chat.completion replayed as OpenAI server-sent events,
and a streamed answer assembled back into a chat.completion so that it can be cached.

Replay order, per OpenAI: a role chunk per choice, content (or tool-call) chunks, a finish chunk
per choice, a usage chunk (empty `choices`) when the client asked for `include_usage`, `[DONE]`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

DONE = b"data: [DONE]\n\n"
_PIECE = re.compile(r"\s*\S+\s*|\s+")


def event(obj: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def pieces(text: str, words: int = 3) -> list[str]:
    """The text in pieces of a few words each, with the spaces kept: joined, they are the text."""
    parts = _PIECE.findall(text)
    return ["".join(parts[i:i + words]) for i in range(0, len(parts), words)] or [""]


def replay(body: bytes, include_usage: bool = False, words_per_chunk: int = 3) -> Iterator[bytes]:
    answer = orjson.loads(body)
    head = {"id": answer.get("id", ""), "object": "chat.completion.chunk",
            "created": answer.get("created", 0), "model": answer.get("model", "")}
    if answer.get("system_fingerprint"):
        head["system_fingerprint"] = answer["system_fingerprint"]

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        return event({**head, "choices": [choice]})

    for choice in answer.get("choices", []):
        index = choice.get("index", 0)
        message = choice.get("message") or {}
        yield chunk(index, {"role": message.get("role", "assistant"), "content": ""})
        if message.get("refusal"):
            yield chunk(index, {"refusal": message["refusal"]})
        content = message.get("content")
        if isinstance(content, str) and content:
            for piece in pieces(content, words_per_chunk):
                yield chunk(index, {"content": piece})
        for j, call in enumerate(message.get("tool_calls") or []):
            fn = call.get("function") or {}
            yield chunk(index, {"tool_calls": [{"index": j, "id": call.get("id"), "type": call.get("type", "function"),
                                                "function": {"name": fn.get("name"), "arguments": ""}}]})
            for part in _slices(fn.get("arguments") or "", 32):
                yield chunk(index, {"tool_calls": [{"index": j, "function": {"arguments": part}}]})
        yield chunk(index, {}, choice.get("finish_reason") or "stop")
    if include_usage and answer.get("usage") is not None:
        yield event({**head, "choices": [], "usage": answer["usage"]})
    yield DONE


def _slices(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


class ChunkAssembler:
    """Feed it each parsed `chat.completion.chunk`; `body()` is the chat.completion they make, or
    None when the stream did not finish every choice (a truncated stream is not cached)."""

    def __init__(self) -> None:
        self.head: dict[str, Any] = {}
        self.usage: dict[str, Any] | None = None
        self._choices: dict[int, dict[str, Any]] = {}

    def feed(self, chunk: dict[str, Any]) -> None:
        if not self.head:
            self.head = {k: chunk[k] for k in ("id", "created", "model", "system_fingerprint") if k in chunk}
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for c in chunk.get("choices") or []:
            state = self._choices.setdefault(c.get("index", 0), {"role": "assistant", "content": [],
                                                                  "tools": {}, "finish": None})
            delta = c.get("delta") or {}
            if delta.get("role"):
                state["role"] = delta["role"]
            if delta.get("content"):
                state["content"].append(delta["content"])
            for call in delta.get("tool_calls") or []:
                tool = state["tools"].setdefault(call.get("index", 0), {"id": None, "type": "function",
                                                                         "name": "", "arguments": []})
                tool["id"] = call.get("id") or tool["id"]
                fn = call.get("function") or {}
                tool["name"] += fn.get("name") or ""
                tool["arguments"].append(fn.get("arguments") or "")
            if c.get("finish_reason"):
                state["finish"] = c["finish_reason"]

    def body(self) -> bytes | None:
        if not self._choices or any(s["finish"] is None for s in self._choices.values()):
            return None
        choices = []
        for index in sorted(self._choices):
            s = self._choices[index]
            message: dict[str, Any] = {"role": s["role"], "content": "".join(s["content"]) or None}
            if s["tools"]:
                message["tool_calls"] = [
                    {"id": t["id"], "type": t["type"], "function": {"name": t["name"],
                                                                    "arguments": "".join(t["arguments"])}}
                    for _, t in sorted(s["tools"].items())]
            choices.append({"index": index, "message": message, "logprobs": None, "finish_reason": s["finish"]})
        out: dict[str, Any] = {**self.head, "object": "chat.completion", "choices": choices}
        if self.usage is not None:
            out["usage"] = self.usage
        return orjson.dumps(out)
