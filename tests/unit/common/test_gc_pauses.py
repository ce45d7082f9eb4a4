"""The collector's pauses are counted and timed per generation."""

from __future__ import annotations

import gc

from services.common.gc_pauses import GcPauses


def test_a_full_collection_is_counted_and_timed():
    pauses = GcPauses()
    pauses.install()
    try:
        junk = [[i] for i in range(200_000)]  # tracked objects for the collector to walk
        gc.collect(2)
        gc.collect(0)
        del junk
    finally:
        pauses.remove()
    got = pauses.summary()
    assert got["gen2"]["collections"] >= 1 and got["gen2"]["longest_ms"] > 0
    assert got["gen0"]["collections"] >= 1
    assert got["gen2"]["total_ms"] >= got["gen2"]["longest_ms"]
    before = pauses.summary()
    gc.collect(2)  # removed: no longer counted
    assert pauses.summary() == before
