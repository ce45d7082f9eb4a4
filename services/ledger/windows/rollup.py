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
    sums: dict[RollupKey, list[int]] = {}  # folded in lists, one Tally per row at the end
    grains = [(name, g.size_us, g.cutoff(now_us)) for name, g in GRAINS.items()]
    for receipt in receipts:
        one = (receipt.cost_micros, 1, receipt.input_tokens, receipt.output_tokens, receipt.saved_micros,
               int(receipt.cache_hit))
        ts = receipt.ts_us
        for name, size, cutoff in grains:
            start = ts - ts % size
            if start >= cutoff:
                cell = sums.get(key := (name, start, receipt.provider))
                if cell is None:
                    sums[key] = list(one)
                else:
                    for i in range(6):
                        cell[i] += one[i]
    return {key: Tally(*cell) for key, cell in sums.items()}
