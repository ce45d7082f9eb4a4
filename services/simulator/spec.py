"""The behaviour spec carried in the URL path (`/sim/latency_ms=50,error_rate=0.3/...`): parsing and checks.

Keys: latency_ms, tps, tokens, error_rate, status, retry_after, hang, drop, stall, fail_first, seed, tool,
cache_read, cache_write, cache_write_1h, close. Anything else, a repeated key or a value out of range is a
`SpecError` naming the key.

`tool=NAME`: when the request offers a tool (function) of that name and does not end with a tool
result, the answer is a call to it (see services.simulator.tokens for its arguments).

`cache_read=N`, `cache_write=M`, `cache_write_1h=H`: the prompt starts with a prefix (a long
system prompt, say) the request does not carry: N tokens read from the provider's prompt cache,
then M written to it for 5 minutes (the default lifetime), then H written to it for an hour; the
answer's usage reports them as each provider does (see services.simulator.tokens).

`close=1`: the connection is closed right after each answer, without a `Connection: close` header,
as a server retiring a kept-alive connection does: a client that reuses it finds it dead (see
services.simulator.faults.CloseAfterAnswer).

`echo_key=STATUS` (400-599; 0: off): every call is answered with STATUS and an error message that
quotes the credentials the request carried (`Authorization`, `x-api-key`, `api-key`,
`x-goog-api-key`, `?key=`), whole and in part, as a careless provider does (see
services.simulator.handler.credentials_echo): for testing the gateway's redaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from services.common.errors import InvalidRequest


class SpecError(InvalidRequest):
    """A bad behaviour spec; `field` is the offending key."""


@dataclass(frozen=True)
class Spec:
    latency_ms: float = 0.0
    tps: float = 100.0
    tokens: int = 20
    error_rate: float = 0.0
    status: int = 500
    retry_after: int = 1  # seconds, in the Retry-After header of a simulated 429
    hang: bool = False
    drop: bool = False  # the answer stops half-way and the connection is cut
    stall: bool = False  # a stream stops half-way and the connection stays open, silent
    fail_first: int = 0  # the first N calls with this spec are answered with `status`, then none
    seed: int | None = None
    tool: str | None = None  # call this tool when the request offers it
    cache_read: int = 0  # prompt tokens read from the provider's prompt cache, before the messages'
    cache_write: int = 0  # prompt tokens written to the prompt cache (for 5 minutes), after those read
    cache_write_1h: int = 0  # prompt tokens written to the prompt cache for an hour, after the 5-minute ones
    close: bool = False  # close the connection after each answer, unannounced (no Connection: close)
    echo_key: int = 0  # answer every call with this status, quoting the credentials it was sent; 0: off


TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what OpenAI, Anthropic and Gemini all accept


def _number(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text)
        if not low <= value <= high:  # also refuses nan
            raise ValueError(f"must be between {low:g} and {high:g}")
        return value
    return parse


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value
    return parse


def _flag(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes"):
        return True
    if lowered in ("0", "false", "no"):
        return False
    raise ValueError("must be 0 or 1")


def _status_or_off(text: str) -> int:
    value = int(text)
    if value != 0 and not 400 <= value <= 599:
        raise ValueError("must be 0 or between 400 and 599")
    return value


def _tool_name(text: str) -> str:
    if not TOOL_NAME.fullmatch(text):
        raise ValueError("must be 1 to 64 letters, digits, _ or -")
    return text


PARSERS: dict[str, Callable[[str], Any]] = {
    "latency_ms": _number(0, 3_600_000),
    "tps": _number(0, 1_000_000),
    "tokens": _integer(0, 100_000),
    "error_rate": _number(0, 1),
    "status": _integer(400, 599),
    "retry_after": _integer(0, 86_400),
    "hang": _flag,
    "drop": _flag,
    "stall": _flag,
    "fail_first": _integer(0, 1_000_000),
    "seed": _integer(-(2**63), 2**63 - 1),
    "tool": _tool_name,
    "cache_read": _integer(0, 100_000_000),
    "cache_write": _integer(0, 100_000_000),
    "cache_write_1h": _integer(0, 100_000_000),
    "close": _flag,
    "echo_key": _status_or_off,
}


@lru_cache(maxsize=1024)
def parse_spec(text: str, defaults: Spec = Spec()) -> Spec:
    """`key=value,key=value` over `defaults`; empty items are ignored, so `""` gives the defaults."""
    values: dict[str, Any] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep:
            raise SpecError(f"simulator spec item {item!r} is not key=value", field=key)
        if key not in PARSERS:
            raise SpecError(f"unknown simulator spec key {key!r}; known keys: {', '.join(PARSERS)}", field=key)
        if key in values:
            raise SpecError(f"simulator spec key {key!r} is given twice", field=key)
        try:
            values[key] = PARSERS[key](raw.strip())
        except ValueError as exc:
            detail = str(exc) if "must be" in str(exc) else "is not a valid value"
            raise SpecError(f"simulator spec key {key!r}: {raw.strip()!r} {detail}", field=key) from None
    return replace(defaults, **values) if values else defaults
