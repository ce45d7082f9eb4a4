"""What new receipts add to the series rollups: per (grain, bucket, tag, dimension tuple) the
counters and the latency sketch's counts. Everything adds, so two ledgers ingesting at once (or
one batch after another) sum to the same rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from services.ledger.analytics.dimensions import UNTAGGED, dimension_values
from services.ledger.analytics.sketch import index_of
from services.ledger.receipts.parse import Receipt
from services.ledger.times import US_PER_S

# the stored grains and their bucket widths (UTC-aligned: the epoch is a midnight)
STORED_GRAINS: dict[str, int] = {"minute": 60 * US_PER_S, "hour": 3_600 * US_PER_S, "day": 86_400 * US_PER_S}


@dataclass
class Counters:
    cost_micros: int = 0
    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_hits: int = 0
    saved_micros: int = 0

    def add(self, other: Counters) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def values(self) -> tuple[int, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    @classmethod
    def of(cls, receipt: Receipt) -> Counters:
        return cls(receipt.cost_micros, 1, int(receipt.status == "error"), receipt.input_tokens,
                   receipt.output_tokens, receipt.cached_tokens, int(receipt.cache_hit), receipt.saved_micros)


COUNTER_COLUMNS = tuple(f.name for f in fields(Counters))
SeriesKey = tuple[str, str, int, tuple[str, ...]]  # (grain, tag, bucket start in us, dimension values)


@dataclass
class Delta:
    counters: Counters
    latency: dict[int, int]  # sketch bucket index -> count

    def row_key(self, key: SeriesKey) -> tuple[object, ...]:
        grain, tag, bucket, dims = key
        return (grain, tag, bucket, *dims)


@dataclass
class SeriesDeltas:
    rows: dict[SeriesKey, Delta]

    def in_order(self) -> list[tuple[tuple[object, ...], Delta]]:
        """(the row's primary key in column order, its delta), sorted: a stable lock order."""
        return [(delta.row_key(key), delta) for key, delta in sorted(self.rows.items())]


def series_deltas(receipts: Iterable[Receipt], tags_by_key: Mapping[str, list[str]]) -> SeriesDeltas:
    """Sums of `receipts` per row; a receipt counts under tag '' and under each tag of its key.

    Folded in plain lists first (one per distinct row, not per receipt): ingest calls this once per
    batch, and a dataclass per receipt and row was most of its cost."""
    sums: dict[SeriesKey, tuple[list[int], dict[int, int]]] = {}
    grains = tuple(STORED_GRAINS.items())
    n = len(COUNTER_COLUMNS)
    for receipt in receipts:
        one = (receipt.cost_micros, 1, int(receipt.status == "error"), receipt.input_tokens,
               receipt.output_tokens, receipt.cached_tokens, int(receipt.cache_hit), receipt.saved_micros)
        dims = dimension_values(receipt)
        idx = index_of(receipt.latency_ms)
        tags = (UNTAGGED, *tags_by_key.get(receipt.key_id or "", ()))
        ts = receipt.ts_us
        for grain, width in grains:
            start = ts - ts % width
            for tag in tags:
                key = (grain, tag, start, dims)
                cell = sums.get(key)
                if cell is None:
                    cell = sums[key] = ([0] * n, {})
                counts, latency = cell
                for i in range(n):
                    counts[i] += one[i]
                latency[idx] = latency.get(idx, 0) + 1
    return SeriesDeltas({key: Delta(Counters(*counts), latency) for key, (counts, latency) in sums.items()})
