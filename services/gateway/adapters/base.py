"""The interface every provider adapter implements: one module per wire format.

An adapter turns the OpenAI chat request clients speak into the provider's request, and the
provider's answer (body, stream events, errors, usage) back into OpenAI's format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from services.common.registry.provider import Provider


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int
    output_tokens: int


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
    raw: bytes  # the event as it goes to the client (already OpenAI SSE)
    done: bool = False  # the end marker ([DONE])
    usage: Usage | None = None
    usage_only: bool = False  # a chunk that only carries usage (strip it if not asked for)
    text: str = ""  # generated text in this event (for estimates when usage is missing)
    finish_reason: str | None = None


class Adapter(Protocol):
    api_format: str

    def build_request(self, provider: Provider, payload: dict[str, Any], api_key: str | None,
                      *, stream: bool) -> UpstreamRequest: ...

    def parse_response(self, raw: bytes) -> ParsedResponse: ...

    def parse_event(self, lines: list[bytes]) -> StreamEvent | None: ...

    def error_message(self, status: int, raw: bytes) -> str: ...
