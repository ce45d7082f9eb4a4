"""Layers of dominance (shortlist.py): exactly the items with fewer than `depth` dominators on
any chain, as a brute-force count finds them; so never one of the first few of any order that
respects the dominance."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.selection.shortlist import layers

KEYS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)), max_size=30)
STRICT = st.sampled_from([(), (0,), (1, 2), (0, 1, 2)])


def _dominates(keys: list[tuple[int, ...]], strict: tuple[int, ...], j: int, i: int) -> bool:
    a, b = keys[j], keys[i]
    return j != i and all(x <= y for x, y in zip(a, b, strict=True)) and (any(a[d] < b[d] for d in strict) or j < i)


@settings(max_examples=300, deadline=None)
@given(keys=KEYS, strict=STRICT, depth=st.integers(1, 5))
def test_layers_hold_the_items_with_fewer_than_depth_dominators_on_any_chain(keys, strict, depth):
    chain: dict[int, int] = {}  # the longest chain of dominators ending at each item, itself included
    for i in sorted(range(len(keys)), key=keys.__getitem__):  # dominators sort first
        chain[i] = 1 + max((chain[j] for j in chain if _dominates(keys, strict, j, i)), default=0)
    assert layers(keys, strict, depth) == sorted(i for i in chain if chain[i] <= depth)


@settings(max_examples=300, deadline=None)
@given(keys=KEYS, depth=st.integers(1, 5), weights=st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 9)))
def test_the_first_few_by_any_positive_weighting_are_in_the_layers(keys, depth, weights):
    score = [sum(w * x for w, x in zip(weights, k, strict=True)) for k in keys]
    first = sorted(range(len(keys)), key=score.__getitem__)[:depth]  # ties: the earlier index
    assert set(first) <= set(layers(keys, (0, 1, 2), depth))
