"""Token and cost estimates made before a request is sent.

Two estimates of input tokens: a typical one (about 4 bytes a token, used to rank providers) and
an upper bound (one token per UTF-8 byte plus per-message overhead, used for budget holds: no
tokenizer yields more tokens than bytes, so a hold built on it is never too small).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.common.money import usd, usd_ceiling

PER_MESSAGE_OVERHEAD_TOKENS = 8
PER_REQUEST_OVERHEAD_TOKENS = 16
DEFAULT_INPUT_TOKENS = 1000
DEFAULT_OUTPUT_TOKENS = 500


def _content_bytes(content: Any) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return len(content.encode("utf-8"))
    if isinstance(content, list):
        total = 0
        for part in content:
            if isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    total += len(part["text"].encode("utf-8"))
                elif part.get("type") in ("image_url", "input_image"):
                    total += 1500  # a high-detail image tile budget; refined per provider later
                else:
                    total += len(str(part).encode("utf-8"))
            else:
                total += len(str(part).encode("utf-8"))
        return total
    return len(str(content).encode("utf-8"))


def _request_bytes(payload: dict[str, Any]) -> tuple[int, int]:
    messages = payload.get("messages") or []
    total = 0
    for msg in messages:
        if isinstance(msg, dict):
            total += _content_bytes(msg.get("content"))
            if msg.get("tool_calls"):
                total += len(str(msg["tool_calls"]).encode("utf-8"))
    if payload.get("tools"):
        total += len(str(payload["tools"]).encode("utf-8"))
    if payload.get("input") is not None:  # an embeddings request: a text, texts or token arrays
        total += _content_bytes(payload["input"])
    return total, len(messages)


def typical_input_tokens(payload: dict[str, Any]) -> int:
    nbytes, nmsg = _request_bytes(payload)
    return (nbytes + 3) // 4 + 4 * nmsg + 3


def max_input_tokens(payload: dict[str, Any]) -> int:
    nbytes, nmsg = _request_bytes(payload)
    return nbytes + PER_MESSAGE_OVERHEAD_TOKENS * nmsg + PER_REQUEST_OVERHEAD_TOKENS


def requested_max_output(payload: dict[str, Any]) -> int | None:
    value = payload.get("max_completion_tokens") or payload.get("max_tokens")
    return int(value) if value else None


def expected_tokens(payload: dict[str, Any]) -> int:
    """Typical input plus the output asked for (or the default): what token rate limits charge
    before the call and correct after it."""
    return typical_input_tokens(payload) + (requested_max_output(payload) or DEFAULT_OUTPUT_TOKENS)


def estimated_cost(input_tokens: int, output_tokens: int, input_price: Decimal,
                   output_price: Decimal) -> Decimal:
    return usd(input_price * input_tokens + output_price * output_tokens)


def worst_case_cost(input_tokens: int, output_tokens: int, input_price: Decimal,
                    output_price: Decimal) -> Decimal:
    return usd_ceiling(input_price * input_tokens + output_price * output_tokens)
