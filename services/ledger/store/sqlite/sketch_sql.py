"""The latency-sketch functions the ledger registers on its SQLite connections: `tollway_sketch_merge`
(two stored sketches added: the rollup upserts merge with it) and the aggregate `tollway_sketch_sum`
(a group's sketches added: migration 0009 fills the pre-merged rows with it)."""

from __future__ import annotations

import sqlite3

from services.ledger.analytics.sketch import decode, encode, merged_blobs

MERGE = "tollway_sketch_merge"
SUM = "tollway_sketch_sum"


class _SketchSum:
    def __init__(self) -> None:
        self.counts: dict[int, int] = {}

    def step(self, blob: bytes | None) -> None:
        if blob:
            counts = self.counts
            for index, count in decode(blob).items():
                counts[index] = counts.get(index, 0) + count

    def finalize(self) -> bytes:
        return encode(self.counts)


def install(conn: sqlite3.Connection) -> None:
    """Register both functions on `conn` (before the migrations run: 0009 calls the aggregate)."""
    conn.create_function(MERGE, 2, merged_blobs, deterministic=True)
    conn.create_aggregate(SUM, 1, _SketchSum)
