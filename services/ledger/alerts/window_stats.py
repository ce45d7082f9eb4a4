"""What a window of receipts adds up to for alert rules: requests, errors, cost, tokens, cache hits
and the latency P95 / P99 of the receipts matching a rule's filters."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WindowStats:
    requests: int = 0
    errors: int = 0  # receipts with status "error" (a budget refusal is not an error)
    cost_micros: int = 0
    tokens: int = 0  # input + output
    cache_hits: int = 0
    p95_ms: float | None = None  # None without receipts
    p99_ms: float | None = None
