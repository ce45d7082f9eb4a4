"""Brute-force cosine search over one scope's vectors (numpy): one matrix-vector product.

Measured (scripts/bench/cache_speed.py): 100,000 vectors of 128 float32 dimensions are searched in
about 7 ms on one core, so no approximate index is needed at the sizes the cache allows.
Rows are appended into a doubling buffer and removed by moving the last row into the hole.
"""

from __future__ import annotations

import numpy as np


class ScopeIndex:
    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._rows = np.empty((16, dim), dtype=np.float32)
        self._keys: list[str] = []
        self._where: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: str) -> bool:
        return key in self._where

    def add(self, key: str, vector: np.ndarray) -> None:
        if key in self._where:
            self._rows[self._where[key]] = vector
            return
        n = len(self._keys)
        if n == len(self._rows):
            grown = np.empty((2 * n, self.dim), dtype=np.float32)
            grown[:n] = self._rows
            self._rows = grown
        self._rows[n] = vector
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
            self._keys[row] = moved
            self._where[moved] = row
        self._keys.pop()

    def search(self, vector: np.ndarray, k: int, min_similarity: float) -> list[tuple[str, float]]:
        n = len(self._keys)
        if n == 0:
            return []
        sims = self._rows[:n] @ vector
        top = np.argpartition(sims, n - k)[n - k:] if n > k else np.arange(n)
        order = top[np.argsort(-sims[top])]
        return [(self._keys[i], float(sims[i])) for i in order if sims[i] >= min_similarity]


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
