"""The most a request can cost: what a budget hold reserves before anything is sent upstream.

Input is bounded by the prompt's UTF-8 bytes (no tokenizer makes more tokens than bytes) plus
per-message overhead; output by max_tokens, or else the provider's output limit or context window.
Every input token is priced at the provider's dearest input price (a prompt-cache write may cost
more than plain input). The hold covers every provider the request may fall back to.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.common.registry.provider import Provider
from services.common.selection.estimate import (
    max_input_tokens,
    requested_max_output,
    worst_case_cost,
)


def output_bound(provider: Provider, payload: dict[str, Any], input_bound: int) -> int:
    asked = requested_max_output(payload)
    limit = provider.max_output_tokens or max(provider.context_window - min(input_bound, provider.context_window), 1)
    return min(asked, limit) if asked else limit


def worst_case(candidates: list[Provider], payload: dict[str, Any]) -> Decimal:
    inputs = max_input_tokens(payload)
    return max(
        worst_case_cost(inputs, output_bound(p, payload, inputs), p.dearest_input_per_token, p.output_per_token)
        for p in candidates
    )
