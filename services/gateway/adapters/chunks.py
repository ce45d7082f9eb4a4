"""OpenAI-shaped output for adapters of other wire formats: `chat.completion` bodies, stream
chunks (`chat.completion.chunk`), the events that close a stream, and usage."""

from __future__ import annotations

import os
import time
from typing import Any

import orjson

from services.gateway.adapters.base import ParsedResponse, StreamEvent, Usage, error_message

DONE_EVENT = b"data: [DONE]\n\n"


def new_id() -> str:
    return "chatcmpl-" + os.urandom(12).hex()


def openai_usage(usage: Usage) -> dict[str, Any]:
    """OpenAI's usage: prompt-cache reads as `prompt_tokens_details.cached_tokens`, writes (of any
    lifetime) as `cache_write_tokens`, both a part of `prompt_tokens`."""
    out: dict[str, Any] = {"prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens,
                           "total_tokens": usage.input_tokens + usage.output_tokens}
    if usage.cache_read_input_tokens or usage.cache_creation_input_tokens:
        out["prompt_tokens_details"] = {"cached_tokens": usage.cache_read_input_tokens}
        if usage.cache_creation_input_tokens:
            out["prompt_tokens_details"]["cache_write_tokens"] = usage.cache_creation_input_tokens
    return out


def tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def choice(index: int, text: str, tool_calls: list[dict[str, Any]], finish_reason: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text if text or not tool_calls else None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"index": index, "message": message, "logprobs": None, "finish_reason": finish_reason}


def completion(response_id: str, model: str, choices: list[dict[str, Any]], usage: Usage | None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": response_id, "object": "chat.completion", "created": int(time.time()),
                            "model": model, "choices": choices}
    if usage is not None:
        body["usage"] = openai_usage(usage)
    return body


class ChunkWriter:
    """The chunks of one stream, all with the same id, model and creation time."""

    def __init__(self) -> None:
        self.id = new_id()
        self.model = ""
        self.created = int(time.time())

    def _event(self, choices: list[dict[str, Any]], usage: Usage | None = None) -> bytes:
        chunk: dict[str, Any] = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                                 "model": self.model, "choices": choices}
        if usage is not None:
            chunk["usage"] = openai_usage(usage)
        return b"data: " + orjson.dumps(chunk) + b"\n\n"

    def delta(self, delta: dict[str, Any], *, text: str = "", index: int = 0) -> StreamEvent:
        choices = [{"index": index, "delta": delta, "logprobs": None, "finish_reason": None}]
        return StreamEvent(self._event(choices), text=text)

    def closing(self, finish_reasons: dict[int, str], usage: Usage | None) -> list[StreamEvent]:
        """A finish chunk per choice, the usage-only chunk (when usage is known), then `[DONE]`."""
        events = [StreamEvent(self._event([{"index": index, "delta": {}, "logprobs": None,
                                            "finish_reason": reason}]), finish_reason=reason)
                  for index, reason in sorted(finish_reasons.items())]
        if usage is not None:
            events.append(StreamEvent(self._event([], usage), usage=usage, usage_only=True))
        events.append(StreamEvent(DONE_EVENT, done=True, usage=usage))
        return events


def error_event(kind: str, message: str) -> StreamEvent:
    """An error the upstream sent mid-stream, passed on in the gateway's error-event shape."""
    return StreamEvent(b"data: " + orjson.dumps({"error": {"type": kind, "message": message}}) + b"\n\n")


class TranslatingAdapter:
    """What adapters of other wire formats share: the answer goes through `completion` (the
    provider's JSON -> an OpenAI `chat.completion` and its usage); errors are read at `error.message`."""

    def completion(self, data: dict[str, Any]) -> tuple[dict[str, Any], Usage | None]:
        raise NotImplementedError

    def parse_response(self, raw: bytes) -> ParsedResponse:
        data = orjson.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("upstream answer is not a JSON object")
        body, usage = self.completion(data)
        return ParsedResponse(orjson.dumps(body), body, usage)

    def error_message(self, status: int, raw: bytes) -> str:
        return error_message(status, raw)
