"""The latency sketch: every quantile within ALPHA (1 %) of the exact value at its rank, and a
merge (adding counts) the same as one sketch of all the values."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ledger.analytics import merge
from services.ledger.analytics.sketch import (
    ALPHA,
    MAX_INDEX,
    MIN_MS,
    QUANTILES,
    ZERO_INDEX,
    decode,
    encode,
    index_of,
    merged,
    quantiles,
    value_of,
)
from services.ledger.analytics.sketch_v1 import ZERO_INDEX_V1, encode_v1, upgraded

latencies = st.lists(st.floats(min_value=0, max_value=600_000, allow_nan=False), min_size=1, max_size=400)


def sketch(values: list[float]) -> dict[int, int]:
    return dict(Counter(index_of(v) for v in values))


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.floor(q * (len(ordered) - 1))]


@settings(max_examples=300, deadline=None)
@given(latencies)
def test_each_quantile_is_within_alpha_of_the_exact_one(values: list[float]) -> None:
    for q, estimate in zip(QUANTILES, quantiles(sketch(values)), strict=True):
        truth = exact(values, q)
        assert estimate is not None
        if truth < MIN_MS:
            assert estimate == 0
        else:
            assert abs(estimate - truth) <= ALPHA * truth * (1 + 1e-9), (q, truth, estimate)


@given(latencies, latencies)
def test_merging_two_sketches_is_the_sketch_of_both(a: list[float], b: list[float]) -> None:
    merged = Counter(sketch(a))
    merged.update(sketch(b))
    assert dict(merged) == sketch(a + b)
    assert quantiles(merged) == quantiles(sketch(a + b))


def test_bucket_values_and_the_empty_sketch() -> None:
    assert quantiles({}) == [None, None, None]
    for x in (0.001, 0.5, 1.0, 12.5, 999.9, 120_000.0):
        assert abs(value_of(index_of(x)) - x) <= ALPHA * x
    assert value_of(index_of(0.0)) == 0 and value_of(index_of(-1.0)) == 0
    # 1 % apart at 1 ms .. 10 minutes: about 670 buckets, however many requests
    assert index_of(600_000) - index_of(1) < 700


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), latencies), min_size=1, max_size=12), st.booleans())
def test_stored_sketches_merged_per_point_give_the_same_quantiles(rows: list[tuple[int, list[float]]],
                                                                  dense: bool) -> None:
    """Rows (point, values) stored as blobs and merged with numpy (one dense histogram per point, or
    the sparse cells only) = one sketch of each point's values."""
    blobs = [encode(sketch(values)) for _, values in rows]
    assert [decode(b) for b in blobs] == [sketch(values) for _, values in rows]
    cells = merge.DENSE_CELLS
    merge.DENSE_CELLS = cells if dense else 0
    try:
        got = merge.point_quantiles([p for p, _ in rows], blobs, 5)
    finally:
        merge.DENSE_CELLS = cells
    for point in range(5):
        values = [v for p, vs in rows if p == point for v in vs]
        want = tuple(quantiles(sketch(values))) if values else (None, None, None)
        assert got[point] == pytest.approx(want, rel=1e-12) if values else got[point] == want


def test_merging_into_a_stored_sketch() -> None:
    assert decode(merged(encode({1: 2, 5: 1}), {5: 3, -7: 1})) == {-7: 1, 1: 2, 5: 4}
    assert decode(merged(None, {index_of(0): 2})) == {index_of(0): 2}


@settings(max_examples=100, deadline=None)
@given(st.lists(latencies, min_size=1, max_size=8), st.randoms(use_true_random=False))
def test_one_stored_sketch_per_point_in_any_row_order(per_point: list[list[float]], rng: Any) -> None:
    """A pre-merged row per point (no two rows add): read in order without summing, as is, or
    shuffled first; the same quantiles as one sketch of each point's values."""
    order = list(range(len(per_point)))
    rng.shuffle(order)
    got = merge.point_quantiles(order, [encode(sketch(per_point[p])) for p in order], len(per_point))
    for point, values in enumerate(per_point):
        assert got[point] == pytest.approx(tuple(quantiles(sketch(values))), rel=1e-12)


def test_stored_as_16_bit_pairs() -> None:
    """4 bytes a bucket; the zero bucket and the last index keep their place; a count past 65,535
    is split into pairs of one index, which decode adds up."""
    assert len(encode({index_of(800.0): 1, index_of(900.0): 2})) == 8
    assert encode({index_of(0): 3, -345: 1, 10: 2}) == bytes.fromhex("0080 0300 a7fe 0100 0a00 0200")
    assert index_of(1e300) == MAX_INDEX and index_of(math.inf) == MAX_INDEX
    blob = encode({ZERO_INDEX: 70_000, 12: 200_000, MAX_INDEX: 65_535})
    assert len(blob) == 4 * (2 + 4 + 1)
    assert decode(blob) == {ZERO_INDEX: 70_000, 12: 200_000, MAX_INDEX: 65_535}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3),
                          st.dictionaries(st.sampled_from([ZERO_INDEX, -345, -3, 0, 7, 400, MAX_INDEX]),
                                          st.integers(1, 300_000), min_size=1)),
                min_size=1, max_size=10))
def test_counts_past_16_bits_merge_exactly(rows: list[tuple[int, dict[int, int]]]) -> None:
    """Rows with split counts and the extreme indexes: the numpy merge gives the quantiles of the
    exactly summed histogram of each point."""
    got = merge.point_quantiles([p for p, _ in rows], [encode(counts) for _, counts in rows], 4)
    for point in range(4):
        total: Counter[int] = Counter()
        for p, counts in rows:
            if p == point:
                total.update(counts)
        want = tuple(quantiles(total)) if total else (None, None, None)
        assert got[point] == pytest.approx(want, rel=1e-12) if total else got[point] == want


@given(st.dictionaries(st.integers(-(2**31), 2**31 - 1), st.integers(1, 2**31 - 1), max_size=30))
def test_a_first_form_sketch_upgrades_to_what_encode_writes(counts: dict[int, int]) -> None:
    """Migration 0013's conversion (sketch_v1.upgraded): the zero bucket moves to the new sentinel,
    indexes past +-MAX_INDEX join it, every count is kept."""
    want: Counter[int] = Counter()
    for index, count in counts.items():
        want[ZERO_INDEX if index == ZERO_INDEX_V1 else max(min(index, MAX_INDEX), -MAX_INDEX)] += count
    assert decode(upgraded(encode_v1(counts))) == dict(want)
    assert upgraded(encode_v1(counts)) == encode(dict(want))
