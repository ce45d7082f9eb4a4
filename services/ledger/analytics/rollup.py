"""What new receipts add to the series rollups: per (grain, bucket, tag, dimension tuple) the
counters and the latency sketch's counts. Everything adds, so two ledgers ingesting at once (or
one batch after another) sum to the same rows."""

from __future__ import annotations

from collections import Counter as _Tally
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
        """In COUNTER_COLUMNS order (spelt out: ingest calls it for every row)."""
        return (self.cost_micros, self.requests, self.errors, self.input_tokens, self.output_tokens,
                self.cached_tokens, self.cache_hits, self.saved_micros)

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


def sum_deltas(deltas: list[Delta]) -> Delta:
    """One delta of several (the one itself when alone: deltas are read, never changed, once made)."""
    if len(deltas) == 1:
        return deltas[0]
    latency: dict[int, int] = {}
    for delta in deltas:
        for index, n in delta.latency.items():
            latency[index] = latency.get(index, 0) + n
    return Delta(Counters(*map(sum, zip(*[d.counters.values() for d in deltas], strict=True))), latency)


def series_deltas(receipts: Iterable[Receipt], tags_by_key: Mapping[str, list[str]]) -> SeriesDeltas:
    """Sums of `receipts` per row; a receipt counts under tag '' and under each tag of its key.

    The minute rows' receipts are listed first, then summed column by column and their latency
    buckets counted (C loops: ingest calls this once per batch, and per-receipt Python arithmetic was
    most of its cost); the hour and day rows are the minute rows folded."""
    members: dict[tuple[str, int, tuple[str, ...]], list[int]] = {}  # (tag, minute, dims) -> receipts
    ones: list[tuple[int, ...]] = []
    indexes: list[int] = []
    width = STORED_GRAINS["minute"]
    for pos, receipt in enumerate(receipts):
        ones.append((receipt.cost_micros, 1, int(receipt.status == "error"), receipt.input_tokens,
                     receipt.output_tokens, receipt.cached_tokens, int(receipt.cache_hit), receipt.saved_micros))
        indexes.append(index_of(receipt.latency_ms))
        dims = dimension_values(receipt)
        start = receipt.ts_us - receipt.ts_us % width
        for tag in (UNTAGGED, *tags_by_key.get(receipt.key_id or "", ())):
            key = (tag, start, dims)
            listed = members.get(key)
            if listed is None:
                members[key] = [pos]
            else:
                listed.append(pos)
    minutes = {(tag, start, dims): Delta(Counters(*map(sum, zip(*[ones[p] for p in listed], strict=True))),
                                         dict(_Tally([indexes[p] for p in listed])))
               for (tag, start, dims), listed in members.items()}
    rows: dict[SeriesKey, Delta] = {("minute", *key): delta for key, delta in minutes.items()}
    for grain in ("hour", "day"):
        coarse: dict[SeriesKey, list[Delta]] = {}
        size = STORED_GRAINS[grain]
        for (tag, start, dims), delta in minutes.items():
            coarse.setdefault((grain, tag, start - start % size, dims), []).append(delta)
        rows.update((key, sum_deltas(listed)) for key, listed in coarse.items())
    return SeriesDeltas(rows)
