"""The response cache as the gateway uses it: prepare, look up before selection, store after a
successful answer, invalidate.

    req = cache.prepare(tenant, payload, headers, key_policy)   # reads and strips `tollway.cache`
    hit = await cache.lookup(req)                               # exact, then semantic where enabled
    if hit: answer hit.body (or sse.replay(hit.body, ...)), receipt cost 0 + hit.receipt_fields()
    else: forward req.payload; on a 2xx chat.completion: await cache.store(req, body, cost_usd, provider)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

from services.gateway.cache.controls import (
    CacheDecision,
    CacheSettings,
    KeyCachePolicy,
    decide,
    read_controls,
)
from services.gateway.cache.entry import CacheStats, Entry, Hit
from services.gateway.cache.keys import RequestKey, request_key
from services.gateway.cache.store import CacheStore, Invalidation

if TYPE_CHECKING:
    import numpy as np

    from services.gateway.cache.embedder import Embedder
    from services.gateway.cache.semantic import SemanticMatcher


@dataclass(slots=True)
class CacheRequest:
    decision: CacheDecision
    key: RequestKey | None  # None when the cache is off for this request
    payload: dict[str, Any]  # what to forward upstream: the request without `tollway.cache`
    semantic_threshold: float | None = None
    vector: np.ndarray | None = None  # the prompt's embedding, computed once


class ResponseCache:
    def __init__(self, store: CacheStore, settings: CacheSettings | None = None, *,
                 embedder: Embedder | None = None, clock: Any = None) -> None:
        self.store_backend = store
        self.settings = settings or CacheSettings()
        self.stats = getattr(store, "stats", None) or CacheStats()
        self._clock = clock
        self.matcher: SemanticMatcher | None = None
        if embedder is not None and self.settings.semantic:
            from services.gateway.cache.semantic import SemanticMatcher
            s = self.settings
            self.matcher = SemanticMatcher(embedder, threshold=s.semantic_threshold,
                                           candidates=s.semantic_candidates, max_chars=s.semantic_max_chars)

    def now(self) -> float:
        return self._clock.now().timestamp() if self._clock is not None else time.time()

    def prepare(self, tenant: str, payload: dict[str, Any], headers: Any = None,
                policy: KeyCachePolicy | None = None, *, semantic_threshold: float | None = None) -> CacheRequest:
        """Read the request's cache controls, decide, and compute its keys (no I/O)."""
        controls, forwarded = read_controls(headers, payload)
        decision = decide(forwarded, controls, policy or KeyCachePolicy(), self.settings)
        key = request_key(tenant, forwarded) if decision.active else None
        return CacheRequest(decision, key, forwarded, semantic_threshold)

    async def lookup(self, req: CacheRequest) -> Hit | None:
        if req.key is None or not req.decision.lookup:
            return None
        now = self.now()
        entry = await self.store_backend.get(req.key.exact, now)
        if entry is not None and entry.tenant == req.key.tenant:
            entry.hits += 1
            self.stats.hits_exact += 1
            return Hit(entry, "exact", 1.0)
        match = await self._semantic(req, now)
        if match is not None:
            match.entry.hits += 1
            self.stats.hits_semantic += 1
            return Hit(match.entry, "semantic", match.similarity)
        self.stats.misses += 1
        return None

    async def _semantic(self, req: CacheRequest, now: float) -> Any:
        key, matcher = req.key, self.matcher
        if (matcher is None or key is None or not req.decision.semantic or key.scope is None
                or not matcher.usable(key.prompt)):
            return None
        assert key.prompt is not None
        req.vector = matcher.vector(key.prompt)
        found = await matcher.find(self.store_backend, key.tenant, key.scope, key.prompt, req.vector, now,
                                   req.semantic_threshold)
        self.stats.guard_rejections = dict(matcher.rejections)
        return found

    async def store(self, req: CacheRequest, body: bytes, cost_usd: Decimal, provider: str = "") -> bool:
        """Keep a successful chat.completion answer for this request. Returns whether it was kept."""
        if req.key is None or not req.decision.store or not is_complete_answer(body):
            return False
        key, now = req.key, self.now()
        vector: bytes | None = None
        scope = prompt = None
        if self.matcher is not None and req.decision.semantic and key.scope and self.matcher.usable(key.prompt):
            assert key.prompt is not None
            vec = req.vector if req.vector is not None else self.matcher.vector(key.prompt)
            vector, scope, prompt = vec.astype("float32").tobytes(), key.scope, key.prompt
        entry = Entry(key=key.exact, tenant=key.tenant, model=key.model, body=body, cost_usd=cost_usd,
                      created_at=now, expires_at=now + req.decision.ttl_s, provider=provider,
                      scope=scope, prompt=prompt, vector=vector)
        kept = await self.store_backend.put(entry, now)
        if kept:
            self.stats.stores += 1
        else:
            self.stats.rejected_too_large += 1
        return kept

    async def invalidate(self, *, key: str | None = None, tenant: str | None = None, model: str | None = None,
                         everything: bool = False) -> int:
        return await self.store_backend.invalidate(Invalidation(key, tenant, model, everything))

    async def snapshot(self) -> dict[str, Any]:
        entries, size = await self.store_backend.size()
        self.stats.entries, self.stats.bytes = entries, size
        return self.stats.to_json()

    async def close(self) -> None:
        await self.store_backend.close()


def is_complete_answer(body: bytes) -> bool:
    """A chat.completion with at least one choice, and no error in it."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return (isinstance(obj, dict) and obj.get("object") == "chat.completion" and "error" not in obj
            and isinstance(obj.get("choices"), list) and len(obj["choices"]) > 0)
