"""Response cache: exact (hash of the answer-changing request fields, per tenant) and semantic
(nearest earlier prompt of the same tenant, model, parameters and conversation, served only when
every difference from it is one the aligner knows to be harmless), in-process or in Redis.

Wiring (see cache.py): `req = cache.prepare(tenant, payload, headers, key_policy)` before
selection and forward `req.payload`; `hit = await cache.lookup(req)` -> answer `hit.body` (or
`sse.replay(hit.body, include_usage)` for a stream) with a receipt of cost 0 plus
`hit.receipt_fields()`; after a successful answer `await cache.store(req, body, cost_usd, provider)`.
"""

from services.gateway.cache.cache import CacheRequest, ResponseCache, is_complete_answer
from services.gateway.cache.controls import (
    CacheDecision,
    CacheSettings,
    KeyCachePolicy,
    RequestControls,
    decide,
    read_controls,
)
from services.gateway.cache.entry import CacheStats, Entry, Hit
from services.gateway.cache.keys import RequestKey, request_key
from services.gateway.cache.memory import MemoryStore
from services.gateway.cache.sse import ChunkAssembler, replay
from services.gateway.cache.store import CacheStore, Invalidation

__all__ = [
    "CacheDecision", "CacheRequest", "CacheSettings", "CacheStats", "CacheStore", "ChunkAssembler", "Entry",
    "Hit", "Invalidation", "KeyCachePolicy", "MemoryStore", "RequestControls", "RequestKey", "ResponseCache",
    "decide", "is_complete_answer", "read_controls", "replay", "request_key",
]
