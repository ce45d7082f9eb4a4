"""The brute-force index: nearest first, threshold respected, removal keeps the others findable."""

import pytest

np = pytest.importorskip("numpy")

from services.gateway.cache.vectors import VectorIndex  # noqa: E402


def unit(*xs):
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_search_returns_nearest_first_above_the_threshold_within_the_scope():
    idx = VectorIndex()
    idx.add("s1", "a", unit(1, 0, 0))
    idx.add("s1", "b", unit(1, 1, 0))
    idx.add("s1", "c", unit(0, 0, 1))
    idx.add("s2", "d", unit(1, 0, 0))
    got = idx.search("s1", unit(1, 0.1, 0), k=4, min_similarity=0.5)
    assert [k for k, _ in got] == ["a", "b"]
    assert got[0][1] > got[1][1] >= 0.5


def test_removal_moves_the_last_row_and_keeps_it_findable_and_grows_past_capacity():
    idx = VectorIndex()
    rng = np.random.default_rng(1)
    vecs = {f"k{i}": unit(*rng.normal(size=8)) for i in range(40)}
    for k, v in vecs.items():
        idx.add("s", k, v)
    for i in range(0, 40, 2):
        idx.remove("s", f"k{i}")
    assert len(idx) == 20
    for i in range(1, 40, 2):
        assert idx.search("s", vecs[f"k{i}"], k=1, min_similarity=0.99)[0][0] == f"k{i}"
    assert idx.search("s", vecs["k0"], k=1, min_similarity=0.999) == []


def test_vectors_of_another_size_are_ignored():
    idx = VectorIndex()
    idx.add("s", "a", unit(1, 0))
    idx.add("s", "b", unit(1, 0, 0).tobytes())
    assert len(idx) == 1 and idx.search("s", unit(1, 0, 0), 3, 0.0) == []
