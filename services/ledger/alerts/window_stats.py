"""What a window of receipts adds up to for alert rules: requests, errors, cost, tokens, cache hits
and every latency (for exact quantiles), over the receipts matching a rule's filters."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

# a rule's filter -> the receipt field it matches
FILTER_FIELDS = {"provider": "provider", "model": "model", "key_id": "key_id", "user": "user", "team": "team",
                 "org": "org", "run_id": "run_id", "agent": "agent"}


@dataclass
class WindowStats:
    requests: int = 0
    errors: int = 0  # receipts with status "error" (a budget refusal is not an error)
    cost_micros: int = 0
    tokens: int = 0  # input + output
    cache_hits: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def quantile(self, q: float) -> float | None:
        """The exact q-quantile of the latencies, nearest rank; None without receipts."""
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _matches(body: Mapping[str, Any], filters: Mapping[str, str]) -> bool:
    return all(body.get(FILTER_FIELDS[name]) == want for name, want in filters.items())


def add_up(rows: Iterable[tuple[Any, ...]], filters: Mapping[str, str]) -> WindowStats:
    """`rows` as AlertStore.receipts_between returns them."""
    stats = WindowStats()
    for _ts, _provider, input_tokens, output_tokens, cost_micros, cache_hit, body in rows:
        receipt = orjson.loads(body)
        if filters and not _matches(receipt, filters):
            continue
        stats.requests += 1
        stats.errors += receipt.get("status") == "error"
        stats.cost_micros += int(cost_micros)
        stats.tokens += int(input_tokens) + int(output_tokens)
        stats.cache_hits += bool(cache_hit)
        latency = receipt.get("latency_ms")
        if isinstance(latency, int | float):
            stats.latencies_ms.append(float(latency))
    return stats
