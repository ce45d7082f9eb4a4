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
    MIN_MS,
    QUANTILES,
    decode,
    encode,
    index_of,
    merged,
    quantiles,
    value_of,
)

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
