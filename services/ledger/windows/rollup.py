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


FINEST_US = min(g.size_us for g in GRAINS.values())
assert all(g.size_us % FINEST_US == 0 for g in GRAINS.values()), "every grain a whole number of the finest"

RollupKey = tuple[str, int, str]  # (grain, bucket start in us, provider)
Row = tuple[int, str, Tally]  # a stored rollup of one grain: (bucket start in us, provider, tally)


def rollup_deltas(receipts: Iterable[Receipt], now_us: int) -> dict[RollupKey, Tally]:
    """Per-row sums of `receipts`, leaving out buckets already past each window's retention.

    Each receipt is added once, to its (finest bucket, provider) cell; the cells are then added to
    every grain's bucket holding them (every grain's buckets are whole multiples of the finest, all
    aligned on the epoch): per receipt one lookup instead of one per grain."""
    cells: dict[tuple[int, str], list[int]] = {}  # (finest bucket start, provider) -> the six sums
    for r in receipts:
        ts = r.ts_us
        cell = cells.get(key := (ts - ts % FINEST_US, r.provider))
        if cell is None:
            cells[key] = [r.cost_micros, 1, r.input_tokens, r.output_tokens, r.saved_micros, int(r.cache_hit)]
        else:
            cell[0] += r.cost_micros
            cell[1] += 1
            cell[2] += r.input_tokens
            cell[3] += r.output_tokens
            cell[4] += r.saved_micros
            cell[5] += r.cache_hit
    sums: dict[RollupKey, list[int]] = {}
    grains = [(name, g.size_us, g.cutoff(now_us)) for name, g in GRAINS.items()]
    for (start, provider), cell in cells.items():
        for name, size, cutoff in grains:
            bucket = start - start % size
            if bucket >= cutoff:
                row = sums.get(key := (name, bucket, provider))
                if row is None:
                    sums[key] = list(cell)
                else:
                    for i in range(6):
                        row[i] += cell[i]
    return {key: Tally(*row) for key, row in sums.items()}
