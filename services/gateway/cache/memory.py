"""In-process cache store: the default, for one gateway process.

Entries live in least-recently-used order (a hit moves its entry to the end); past `max_entries`
or `max_bytes` the least recently used go. An expired entry is dropped when it is read and, a few
at a time, as new entries arrive; `purge_expired` sweeps them all. asyncio-safe without locks: no
method awaits in the middle of a change.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

from services.gateway.cache.entry import CacheStats, Entry
from services.gateway.cache.store import Invalidation

if TYPE_CHECKING:
    import numpy as np

    from services.gateway.cache.vectors import VectorIndex


class MemoryStore:
    def __init__(self, *, max_entries: int = 10_000, max_bytes: int = 256 * 1024 * 1024,
                 max_entry_bytes: int = 1024 * 1024, stats: CacheStats | None = None) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self.stats = stats or CacheStats()
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._bytes = 0
        self._vectors: VectorIndex | None = None

    async def get(self, key: str, now: float) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expired(now):
            self._drop(key)
            self.stats.expired += 1
            return None
        self._entries.move_to_end(key)
        return entry

    async def put(self, entry: Entry, now: float) -> bool:
        if entry.size > self.max_entry_bytes or entry.size > self.max_bytes:
            return False
        self._drop(entry.key)
        self._entries[entry.key] = entry
        self._bytes += entry.size
        if entry.vector is not None and entry.scope is not None:
            if self._vectors is None:
                from services.gateway.cache.vectors import VectorIndex
                self._vectors = VectorIndex()
            self._vectors.add(entry.scope, entry.key, entry.vector)
        self._sweep(now)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))
            self.stats.evicted += 1
        return True

    async def nearest(self, scope: str, vector: np.ndarray, k: int, min_similarity: float,
                      now: float) -> list[tuple[Entry, float]]:
        if self._vectors is None:
            return []
        out = []
        for key, sim in self._vectors.search(scope, vector, k, min_similarity):
            entry = await self.get(key, now)
            if entry is not None:
                out.append((entry, sim))
        return out

    async def invalidate(self, what: Invalidation) -> int:
        if what.key is not None:
            entry = self._entries.get(what.key)
            doomed = [what.key] if entry is not None and what.matches(entry) else []
        else:
            doomed = [k for k, e in self._entries.items() if what.matches(e)]
        for key in doomed:
            self._drop(key)
        return len(doomed)

    async def size(self) -> tuple[int, int]:
        return len(self._entries), self._bytes

    def purge_expired(self, now: float) -> int:
        doomed = [k for k, e in self._entries.items() if e.expired(now)]
        for key in doomed:
            self._drop(key)
        self.stats.expired += len(doomed)
        return len(doomed)

    async def close(self) -> None:
        self._entries.clear()
        self._bytes = 0
        if self._vectors is not None:
            self._vectors.clear()

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self._bytes -= entry.size
        if self._vectors is not None:
            self._vectors.remove(entry.scope, key)

    def _sweep(self, now: float) -> None:
        for _ in range(2):  # the least recently used are the likeliest to have expired
            oldest = next(iter(self._entries.values()), None)
            if oldest is None or not oldest.expired(now):
                return
            self._drop(oldest.key)
            self.stats.expired += 1
