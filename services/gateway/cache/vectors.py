"""Cosine search over one scope's vectors (numpy).

Up to `EXACT_UP_TO` rows: one matrix-vector product over all of them. Above it, a binary
pre-filter first: each vector is also kept as its signs (one bit a dimension, 16 bytes for 128
dimensions), the `shortlist` rows nearest in Hamming distance are found with XOR and popcount, and
only those are scored exactly. A brute-force float scan of 100,000 x 128 dimensions reads 51 MB and
took 7-19 ms a lookup on this project's shared 2-core machine (scripts/bench/cache_models.py);
the bits are 1.6 MB. A near neighbour the pre-filter misses costs a hit, never a wrong answer: what
is served is still decided by the aligner.
Rows are appended into a doubling buffer and removed by moving the last row into the hole.
"""

from __future__ import annotations

import numpy as np

EXACT_UP_TO = 20_000


def sign_bits(vectors: np.ndarray) -> np.ndarray:
    """(n, dim) floats -> (n, ceil(dim / 64)) uint64 of their signs."""
    packed = np.packbits(np.atleast_2d(vectors) > 0, axis=1)
    pad = (-packed.shape[1]) % 8
    if pad:
        packed = np.pad(packed, ((0, 0), (0, pad)))
    return packed.view(np.uint64)


class ScopeIndex:
    def __init__(self, dim: int, *, exact_up_to: int = EXACT_UP_TO, shortlist: int = 256) -> None:
        self.dim = dim
        self.exact_up_to = exact_up_to
        self.shortlist = shortlist
        self._rows = np.empty((16, dim), dtype=np.float32)
        self._bits = np.empty(((dim + 63) // 64, 16), dtype=np.uint64)  # word-major: each word contiguous
        self._keys: list[str] = []
        self._where: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: str) -> bool:
        return key in self._where

    def add(self, key: str, vector: np.ndarray) -> None:
        if key in self._where:
            self._rows[self._where[key]] = vector
            self._bits[:, self._where[key]] = sign_bits(vector)[0]
            return
        n = len(self._keys)
        if n == len(self._rows):
            self._rows = np.concatenate([self._rows, np.empty_like(self._rows)])
            self._bits = np.concatenate([self._bits, np.empty_like(self._bits)], axis=1)
        self._rows[n] = vector
        self._bits[:, n] = sign_bits(vector)[0]
        self._keys.append(key)
        self._where[key] = n

    def remove(self, key: str) -> None:
        row = self._where.pop(key, None)
        if row is None:
            return
        last = len(self._keys) - 1
        if row != last:
            moved = self._keys[last]
            self._rows[row] = self._rows[last]
            self._bits[:, row] = self._bits[:, last]
            self._keys[row] = moved
            self._where[moved] = row
        self._keys.pop()

    def search(self, vector: np.ndarray, k: int, min_similarity: float) -> list[tuple[str, float]]:
        n = len(self._keys)
        if n == 0:
            return []
        if n > self.exact_up_to:
            rows = self._shortlist(vector, n)
            sims = self._rows[rows] @ vector
        else:
            rows, sims = np.arange(n), self._rows[:n] @ vector
        m = len(rows)
        top = np.argpartition(sims, m - k)[m - k:] if m > k else np.arange(m)
        order = top[np.argsort(-sims[top])]
        return [(self._keys[rows[i]], float(sims[i])) for i in order if sims[i] >= min_similarity]

    def _shortlist(self, vector: np.ndarray, n: int) -> np.ndarray:
        """The rows nearest to the vector in Hamming distance between sign bits: about `shortlist`
        of them, every row at the cut-off distance included."""
        query = sign_bits(vector)[0]
        distance = np.zeros(n, dtype=np.uint16)
        for word, q in zip(self._bits[:, :n], query, strict=True):
            distance += np.bitwise_count(word ^ q)
        counts = np.cumsum(np.bincount(distance, minlength=self.dim + 1))
        m = min(self.shortlist, n)
        rows = np.flatnonzero(distance <= int(np.searchsorted(counts, m)))
        if len(rows) > 4 * m:  # many ties at the cut-off: keep m of them
            rows = rows[np.argpartition(distance[rows], m - 1)[:m]]
        return rows


class VectorIndex:
    """Scopes -> ScopeIndex; empty scopes are dropped."""

    def __init__(self, dim: int | None = None) -> None:
        self.dim = dim
        self._scopes: dict[str, ScopeIndex] = {}

    def __len__(self) -> int:
        return sum(len(s) for s in self._scopes.values())

    def add(self, scope: str, key: str, vector: bytes | np.ndarray) -> None:
        vec = np.frombuffer(vector, dtype=np.float32) if isinstance(vector, bytes) else vector
        if self.dim is None:
            self.dim = len(vec)
        if len(vec) != self.dim:
            return  # written by another model: not comparable
        index = self._scopes.get(scope)
        if index is None:
            index = self._scopes[scope] = ScopeIndex(self.dim)
        index.add(key, vec)

    def remove(self, scope: str | None, key: str) -> None:
        if scope is None:
            return
        index = self._scopes.get(scope)
        if index is not None:
            index.remove(key)
            if not len(index):
                del self._scopes[scope]

    def search(self, scope: str, vector: np.ndarray, k: int, min_similarity: float) -> list[tuple[str, float]]:
        index = self._scopes.get(scope)
        if index is None or len(vector) != index.dim:
            return []
        return index.search(vector, k, min_similarity)

    def clear(self) -> None:
        self._scopes.clear()
