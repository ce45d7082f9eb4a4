"""Step 3 of a request: the response cache, between rate limits and selection.

Whose entries a request may see is its tenant's (its key's organisation, else the key; callers
without a key share the anonymous tenant). A hit is answered at once with a receipt of cost 0 that
says what it saved; a miss is forwarded and, if it succeeds, stored (see services/gateway/cache).
"""

from __future__ import annotations

from decimal import Decimal

import orjson

from services.common.clock import Clock
from services.common.registry.provider import Provider
from services.common.settings import Settings
from services.gateway.auth.identify import Identity
from services.gateway.cache import CacheSettings, Hit, ResponseCache
from services.gateway.cache.factory import make_cache

ANONYMOUS = "anonymous"
CACHE_HEADERS = ("cache-control", "x-tollway-cache-ttl")


def cache_settings(settings: Settings) -> CacheSettings:
    return CacheSettings(enabled=settings.cache_enabled, max_entries=settings.cache_max_entries,
                         max_bytes=settings.cache_max_bytes, max_entry_bytes=settings.cache_max_entry_bytes,
                         default_ttl_s=settings.cache_default_ttl_s, max_ttl_s=settings.cache_max_ttl_s,
                         semantic=settings.cache_semantic, semantic_threshold=settings.cache_semantic_threshold)


def make_gateway_cache(settings: Settings, clock: Clock) -> ResponseCache:
    redis_url = settings.redis_url if settings.cache_store == "redis" else ""
    return make_cache(cache_settings(settings), redis_url=redis_url, redis_prefix=settings.cache_redis_prefix,
                      clock=clock)


def tenant_of(identity: Identity | None) -> str:
    key = identity.key if identity else None
    if key is None:
        return ANONYMOUS
    return f"org:{key.org}" if key.org else f"key:{key.key_id}"


def hit_provider(hit: Hit) -> Provider:
    """The answer's original provider and model, priced at zero: this request cost nothing."""
    entry = hit.entry
    return Provider(name=entry.provider or "cache", model=entry.model or "", context_window=0, endpoint="cache",
                    input_per_token=Decimal(0), output_per_token=Decimal(0))


def hit_usage(hit: Hit) -> tuple[int, int]:
    """The cached answer's token counts (what the client sees in its usage)."""
    try:
        usage = orjson.loads(hit.body).get("usage") or {}
        return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
        return 0, 0


def hit_reason(hit: Hit) -> str:
    if hit.kind == "exact":
        return f"served from the exact cache; saved ${hit.saved_usd}"
    return f"served from the semantic cache (similarity {hit.similarity:.3f}); saved ${hit.saved_usd}"
