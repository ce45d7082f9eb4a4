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


def test_above_the_exact_size_a_sign_bit_shortlist_finds_the_nearest_and_forgets_the_removed():
    from services.gateway.cache.vectors import ScopeIndex, sign_bits

    rng = np.random.default_rng(7)
    idx = ScopeIndex(128, exact_up_to=100, shortlist=16)
    vecs = [unit(*rng.normal(size=128)) for _ in range(2000)]
    for i, v in enumerate(vecs):
        idx.add(f"k{i}", v)
    for i in (3, 500, 1999):
        near = vecs[i] + 0.05 * unit(*rng.normal(size=128))
        assert idx.search(near / np.linalg.norm(near), k=1, min_similarity=0.9)[0][0] == f"k{i}"
    idx.remove(f"k{500}")  # the last row moves into its place, bits too
    assert idx.search(vecs[500], k=1, min_similarity=0.99) == []
    assert idx.search(vecs[1999], k=1, min_similarity=0.99)[0][0] == "k1999"
    assert sign_bits(np.array([1.0, -1.0] * 64, dtype=np.float32)).shape == (1, 2)


def test_identical_vectors_do_not_turn_the_shortlist_into_a_full_scan():
    from services.gateway.cache.vectors import ScopeIndex

    idx = ScopeIndex(8, exact_up_to=10, shortlist=4)
    for i in range(100):
        idx.add(f"k{i}", unit(1, 1, 1, 1, 1, 1, 1, 1))
    assert len(idx._shortlist(unit(1, 1, 1, 1, 1, 1, 1, 1), 100)) == 4
    assert len(idx.search(unit(1, 1, 1, 1, 1, 1, 1, 1), k=2, min_similarity=0.9)) == 2
