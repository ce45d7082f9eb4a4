"""Who can be among the first few for any request: layers of dominance.

One provider dominates another when it is no worse on every measure a strategy's order can only
grow with (price per input token, per output token, latency, ...) and is sure to come first:
strictly better on a measure that decides by itself (`strict`), else earlier in the tie-break
order. Whatever the request's token counts, a dominated provider ranks after its dominator, so
one behind a chain of `depth` dominators is never among the first `depth`. Computed once per
pool; a request then only scores the few providers of the first `depth` layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import le
from typing import Any

Key = tuple[Any, ...]


def _dominated(i: int, layer: list[int], keys: Sequence[Key], strict: Sequence[int]) -> bool:
    """Whether some item of `layer` dominates item `i`."""
    key = keys[i]
    for j in layer:
        other = keys[j]
        if all(map(le, other, key)):  # no worse anywhere: first for sure if strictly better where that decides
            for d in strict:
                if other[d] < key[d]:
                    return True
            if j < i:  # or earlier in the tie-break order
                return True
    return False


def layers(keys: Sequence[Key], strict: Sequence[int], depth: int) -> list[int]:
    """The indexes (into `keys`, given in tie-break order) of the items with fewer than `depth`
    dominators along any chain, ascending: a superset of the first `depth` of any order that
    respects the dominance. `strict` lists the measures on which being lower decides."""
    # a dominator sorts before whom it dominates (equal keys: the earlier index, by stability)
    order = sorted(range(len(keys)), key=keys.__getitem__)
    found: list[list[int]] = [[] for _ in range(depth)]
    for i in order:
        level = 0
        for lvl in range(depth - 1, -1, -1):  # the deepest layer first: most items stop there
            if _dominated(i, found[lvl], keys, strict):
                level = lvl + 1
                break
        if level < depth:
            found[level].append(i)
    return sorted(i for layer in found for i in layer)
