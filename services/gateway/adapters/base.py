"""The interface every provider adapter implements: one module per wire format.

An adapter turns the OpenAI chat request clients speak into the provider's request, and the
provider's answer (body, stream events, errors, usage) back into OpenAI's format. Streams are
translated by a parser made per stream (`Adapter.stream_parser()`), because some formats spread
what one OpenAI chunk says over several events (Anthropic: input tokens in `message_start`,
output tokens and the stop reason in `message_delta`, the end in `message_stop`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import orjson

from services.common.registry.provider import Provider


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int  # every input token billed, cached ones included
    output_tokens: int
    cache_read_input_tokens: int = 0  # of input_tokens, read from the provider's prompt cache
    cache_creation_input_tokens: int = 0  # of input_tokens, written to the provider's prompt cache
    cache_creation_1h_input_tokens: int = 0  # of cache_creation_input_tokens, written for an hour


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class ParsedResponse:
    body: bytes  # OpenAI chat.completion JSON, as the client will receive it
    data: dict[str, Any]
    usage: Usage | None


@dataclass(slots=True)
class StreamEvent:
    raw: bytes  # the event as it goes to the client (already OpenAI SSE); b"" sends nothing
    done: bool = False  # the end marker ([DONE])
    usage: Usage | None = None
    usage_only: bool = False  # a chunk that only carries usage (strip it if not asked for)
    text: str = ""  # generated text in this event (for estimates when usage is missing)
    finish_reason: str | None = None


class StreamParser(Protocol):
    def parse_event(self, lines: list[bytes]) -> list[StreamEvent]:
        """One upstream SSE event (its lines, blank line included) -> the events for the client."""
        ...


class Adapter(Protocol):
    api_format: str

    def build_request(self, provider: Provider, payload: dict[str, Any], api_key: str | None,
                      *, stream: bool) -> UpstreamRequest: ...

    def parse_response(self, raw: bytes) -> ParsedResponse: ...

    def stream_parser(self) -> StreamParser: ...

    def error_message(self, status: int, raw: bytes) -> str: ...


@runtime_checkable
class EmbeddingsAdapter(Protocol):
    """An adapter whose provider format has an embeddings endpoint; answers in OpenAI's
    `{"object": "list", "data": [{"embedding": ...}], "usage": {"prompt_tokens"}}`."""

    def build_embeddings_request(self, provider: Provider, payload: dict[str, Any],
                                 api_key: str | None) -> UpstreamRequest: ...

    def parse_embeddings(self, raw: bytes) -> ParsedResponse: ...


def sse_data(lines: list[bytes]) -> bytes:
    """The `data:` payload of one SSE event (multi-line data joined)."""
    return b"".join(line[5:].strip() for line in lines if line.startswith(b"data:"))


def error_message(status: int, raw: bytes) -> str:
    """The provider's own words from an error body. OpenAI, Azure, Anthropic and Gemini all put
    them at `error.message` (Gemini's streaming errors wrap the body in a list)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, list) and data:
        data = data[0]
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict) and err.get("message"):
        return str(err["message"])[:500]
    return raw[:200].decode("utf-8", "replace") or f"HTTP {status}"
