"""The latency-sketch functions the ledger registers on its SQLite connections: `tollway_sketch_merge`
(two stored sketches added: the rollup upserts merge with it), and for the migrations the aggregate
`tollway_sketch_sum` (a group's sketches of the first form added: 0009 fills the pre-merged rows
with it) and `tollway_sketch_upgrade` (a sketch of the first form in the current one: 0013)."""

from __future__ import annotations

import sqlite3
from functools import lru_cache

from services.ledger.analytics.sketch import merged_blobs
from services.ledger.analytics.sketch_v1 import decode_v1, encode_v1, upgraded

MERGE = "tollway_sketch_merge"
SUM = "tollway_sketch_sum"
UPGRADE = "tollway_sketch_upgrade"


class _SketchSum:
    def __init__(self) -> None:
        self.counts: dict[int, int] = {}

    def step(self, blob: bytes | None) -> None:
        if blob:
            counts = self.counts
            for index, count in decode_v1(blob).items():
                counts[index] = counts.get(index, 0) + count

    def finalize(self) -> bytes:
        return encode_v1(self.counts)


def install(conn: sqlite3.Connection) -> None:
    """Register the functions on `conn` (before the migrations run: 0009 and 0013 call them)."""
    # one ingest upserts many rows with the same sketches (the total and each dimension's row of a
    # bucket often hold the same histogram and get the same delta): each distinct pair merged once
    conn.create_function(MERGE, 2, lru_cache(maxsize=256)(merged_blobs), deterministic=True)
    conn.create_aggregate(SUM, 1, _SketchSum)
    conn.create_function(UPGRADE, 1, upgraded, deterministic=True)
