"""The interface every cache backend implements (in-process, Redis); one shared test suite."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from services.gateway.cache.entry import Entry

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True, slots=True)
class Invalidation:
    """What to drop: one entry (by its key), a tenant's, a model's (optionally within a tenant), or all."""

    key: str | None = None
    tenant: str | None = None
    model: str | None = None
    everything: bool = False

    def __post_init__(self) -> None:
        if not (self.key or self.tenant or self.model or self.everything):
            raise ValueError("say what to invalidate: key, tenant, model or everything")

    def matches(self, entry: Entry) -> bool:
        if self.everything:
            return True
        return ((self.key is None or entry.key == self.key)
                and (self.tenant is None or entry.tenant == self.tenant)
                and (self.model is None or entry.model == self.model))


class CacheStore(Protocol):
    async def get(self, key: str, now: float) -> Entry | None:
        """The live entry under the exact key (and now the most recently used), else None."""
        ...

    async def put(self, entry: Entry, now: float) -> bool:
        """Store (replacing one under the same key), then evict the least recently used until the
        limits hold. False when the entry alone exceeds the per-entry size limit."""
        ...

    async def nearest(self, scope: str, vector: np.ndarray, k: int, min_similarity: float,
                      now: float) -> list[tuple[Entry, float]]:
        """Up to k live entries of the scope whose vectors are at least `min_similarity` cosine-similar,
        most similar first."""
        ...

    async def invalidate(self, what: Invalidation) -> int:
        """Drop the matching entries; how many were dropped."""
        ...

    async def size(self) -> tuple[int, int]:
        """(entries, bytes) held now."""
        ...

    async def close(self) -> None: ...
