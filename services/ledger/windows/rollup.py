"""Rollup deltas: what new receipts add to each (grain, bucket, provider) row, in integer micros."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.ledger.receipts.parse import Receipt
from services.ledger.windows.buckets import GRAINS


@dataclass
class Tally:
    cost_micros: int = 0
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    saved_micros: int = 0  # what cache hits saved
    cache_hits: int = 0

    def add(self, other: Tally) -> None:
        self.cost_micros += other.cost_micros
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.saved_micros += other.saved_micros
        self.cache_hits += other.cache_hits

    @classmethod
    def of(cls, receipt: Receipt) -> Tally:
        return cls(receipt.cost_micros, 1, receipt.input_tokens, receipt.output_tokens, receipt.saved_micros,
                   int(receipt.cache_hit))


RollupKey = tuple[str, int, str]  # (grain, bucket start in us, provider)
Row = tuple[int, str, Tally]  # a stored rollup of one grain: (bucket start in us, provider, tally)


def rollup_deltas(receipts: Iterable[Receipt], now_us: int) -> dict[RollupKey, Tally]:
    """Per-row sums of `receipts`, leaving out buckets already past each window's retention."""
    deltas: dict[RollupKey, Tally] = {}
    cutoffs = {name: g.cutoff(now_us) for name, g in GRAINS.items()}
    for receipt in receipts:
        tally = Tally.of(receipt)
        for name, g in GRAINS.items():
            start = g.start_of(receipt.ts_us)
            if start >= cutoffs[name]:
                deltas.setdefault((name, start, receipt.provider), Tally()).add(tally)
    return deltas
