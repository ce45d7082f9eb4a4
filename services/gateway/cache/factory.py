"""Building the cache from settings: the store the URL names, the embedding model when semantic
matching is on (loaded once, at start-up: ~0.5 s)."""

from __future__ import annotations

from typing import Any

from services.gateway.cache.cache import ResponseCache
from services.gateway.cache.controls import CacheSettings
from services.gateway.cache.memory import MemoryStore


def make_cache(settings: CacheSettings, *, redis_url: str = "", redis_prefix: str = "tollway:cache:",
               embedder: Any = None, clock: Any = None) -> ResponseCache:
    """`redis_url` empty: in-process store; else the Redis store shared by every replica."""
    limits: dict[str, Any] = {"max_entries": settings.max_entries, "max_bytes": settings.max_bytes,
                              "max_entry_bytes": settings.max_entry_bytes}
    store: Any
    if redis_url:
        from services.gateway.cache.redis_store import RedisStore
        store = RedisStore(redis_url, prefix=redis_prefix, **limits)
    else:
        store = MemoryStore(**limits)
    if settings.semantic and embedder is None:
        from services.gateway.cache.embedder import load_embedder
        embedder = load_embedder()
    return ResponseCache(store, settings, embedder=embedder, clock=clock)
