"""The cache's behaviour, the same for the in-process and the Redis store."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import orjson
import pytest

from services.gateway.cache import CacheSettings, KeyCachePolicy, ResponseCache

Q = {"model": "gpt-4o-mini", "temperature": 0,
     "messages": [{"role": "user", "content": "What is the capital of France?"}]}


def answer(text: str, model: str = "gpt-4o-mini") -> bytes:
    return orjson.dumps({"id": "chatcmpl-x", "object": "chat.completion", "created": 1, "model": model,
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                      "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": 8, "completion_tokens": 5, "total_tokens": 13}})


def ask(text: str, **extra) -> dict:
    return {**Q, **extra, "messages": [{"role": "user", "content": text}]}


@pytest.fixture
def cache(make_store, clock):
    return ResponseCache(make_store(), CacheSettings(default_ttl_s=60), clock=clock)


async def stored(cache, tenant, payload, text, cost="0.001200", headers=None) -> bool:
    req = cache.prepare(tenant, payload, headers)
    assert await cache.lookup(req) is None
    return await cache.store(req, answer(text, payload["model"]), Decimal(cost), "sim-openai")


async def test_exact_hit_returns_the_stored_answer_with_what_it_saved(cache):
    assert await stored(cache, "acme", Q, "Paris.")
    hit = await cache.lookup(cache.prepare("acme", {**Q, "stream": True, "user": "bob"}))
    assert hit is not None and hit.kind == "exact" and hit.similarity == 1.0
    assert orjson.loads(hit.body)["choices"][0]["message"]["content"] == "Paris."
    fields = hit.receipt_fields()
    assert fields["cache"] == "hit" and fields["saved_usd"] == Decimal("0.001200")
    assert fields["cache_provider"] == "sim-openai"


async def test_two_tenants_with_the_same_prompt_never_see_each_others_answer(cache):
    assert await stored(cache, "acme", Q, "Paris, for acme.")
    assert await cache.lookup(cache.prepare("globex", Q)) is None
    assert await stored(cache, "globex", Q, "Paris, for globex.")
    for tenant in ("acme", "globex"):
        hit = await cache.lookup(cache.prepare(tenant, Q))
        assert hit is not None and hit.entry.tenant == tenant
        assert orjson.loads(hit.body)["choices"][0]["message"]["content"] == f"Paris, for {tenant}."


async def test_a_different_parameter_is_a_miss(cache):
    await stored(cache, "acme", Q, "Paris.")
    assert await cache.lookup(cache.prepare("acme", {**Q, "max_tokens": 5})) is None
    assert await cache.lookup(cache.prepare("acme", {**Q, "model": "gpt-4o"})) is None


async def test_only_successful_chat_completions_are_stored(cache):
    req = cache.prepare("acme", Q)
    assert not await cache.store(req, b'{"error": {"message": "rate limited"}}', Decimal(0))
    assert not await cache.store(req, b"not json", Decimal(0))
    assert not await cache.store(req, orjson.dumps({"object": "chat.completion", "choices": []}), Decimal(0))
    assert await cache.lookup(cache.prepare("acme", Q)) is None


async def test_sampled_requests_are_not_stored_unless_opted_in(cache):
    sampled = {**Q, "temperature": 0.7}
    assert not await stored(cache, "acme", sampled, "Paris?")
    assert await cache.lookup(cache.prepare("acme", sampled)) is None
    opted = {**sampled, "tollway": {"cache": True}}
    assert await stored(cache, "acme", opted, "Paris!")
    assert (await cache.lookup(cache.prepare("acme", opted))) is not None
    assert await cache.lookup(cache.prepare("acme", sampled)) is None  # no opt-in: no cached answer
    by_key = cache.prepare("acme", sampled, None, KeyCachePolicy(cache_sampled=True))
    assert await cache.lookup(by_key) is not None
    assert await cache.lookup(cache.prepare("acme", opted, None, KeyCachePolicy(enabled=False))) is None


async def test_no_cache_refreshes_and_no_store_leaves_no_trace(cache):
    await stored(cache, "acme", Q, "Paris (old).")
    refresh = cache.prepare("acme", Q, {"Cache-Control": "no-cache"})
    assert await cache.lookup(refresh) is None
    assert await cache.store(refresh, answer("Paris (new)."), Decimal("0.001"))
    hit = await cache.lookup(cache.prepare("acme", Q))
    assert orjson.loads(hit.body)["choices"][0]["message"]["content"] == "Paris (new)."
    other = ask("What is the capital of Spain?")
    assert not await cache.store(cache.prepare("acme", other, {"Cache-Control": "no-store"}), answer("Madrid."),
                                 Decimal(0))
    assert await cache.lookup(cache.prepare("acme", other)) is None


async def test_entries_expire_after_their_ttl(cache, clock):
    await stored(cache, "acme", Q, "Paris.", headers={"X-Tollway-Cache-TTL": "10"})
    clock.set(clock.now() + timedelta(seconds=9))
    assert await cache.lookup(cache.prepare("acme", Q)) is not None
    clock.set(clock.now() + timedelta(seconds=2))
    assert await cache.lookup(cache.prepare("acme", Q)) is None
    assert (await cache.store_backend.size())[0] == 0


async def test_least_recently_used_entry_goes_first_when_full(make_store, clock):
    cache = ResponseCache(make_store(max_entries=3), CacheSettings(), clock=clock)
    for city in ("France", "Spain", "Italy"):
        await stored(cache, "acme", ask(f"Capital of {city}?"), city)
    assert await cache.lookup(cache.prepare("acme", ask("Capital of France?"))) is not None  # France now recent
    await stored(cache, "acme", ask("Capital of Peru?"), "Lima")
    assert await cache.lookup(cache.prepare("acme", ask("Capital of Spain?"))) is None  # least recently used
    for city in ("France", "Italy", "Peru"):
        assert await cache.lookup(cache.prepare("acme", ask(f"Capital of {city}?"))) is not None
    assert (await cache.store_backend.size())[0] == 3


async def test_byte_limits_evict_and_refuse_oversized_entries(make_store, clock):
    cache = ResponseCache(make_store(max_bytes=2000, max_entry_bytes=1500), CacheSettings(), clock=clock)
    assert not await cache.store(cache.prepare("acme", Q), answer("x" * 2000), Decimal(0))
    for i in range(6):
        assert await stored(cache, "acme", ask(f"Question {i}?"), "y" * 200)
    entries, size = await cache.store_backend.size()
    assert size <= 2000 and 0 < entries < 6
    assert await cache.lookup(cache.prepare("acme", ask("Question 5?"))) is not None
    assert await cache.lookup(cache.prepare("acme", ask("Question 0?"))) is None


async def test_invalidation_of_one_entry_a_model_a_tenant_and_everything(cache):
    await stored(cache, "acme", Q, "Paris.")
    await stored(cache, "acme", {**Q, "model": "claude"}, "Paris (claude).")
    await stored(cache, "acme", ask("What is the capital of Spain?"), "Madrid.")
    await stored(cache, "globex", Q, "Paris (globex).")
    one = cache.prepare("acme", Q).key.exact
    assert await cache.invalidate(key=one, tenant="globex") == 0  # a key of another tenant is left alone
    assert await cache.invalidate(key=one) == 1
    assert await cache.lookup(cache.prepare("acme", Q)) is None
    assert await cache.invalidate(model="claude") == 1
    assert await cache.lookup(cache.prepare("acme", {**Q, "model": "claude"})) is None
    assert await cache.invalidate(tenant="acme") == 1
    assert await cache.lookup(cache.prepare("globex", Q)) is not None
    assert await cache.invalidate(everything=True) == 1
    assert await cache.store_backend.size() == (0, 0)


async def test_invalidation_needs_a_target(cache):
    with pytest.raises(ValueError):
        await cache.invalidate()


async def test_the_factory_picks_the_store_the_url_names(redis_url, redis_prefix):
    from services.gateway.cache.factory import make_cache
    from services.gateway.cache.memory import MemoryStore
    from services.gateway.cache.redis_store import RedisStore

    local = make_cache(CacheSettings(max_entries=7))
    assert isinstance(local.store_backend, MemoryStore) and local.store_backend.max_entries == 7
    assert local.matcher is None
    shared = make_cache(CacheSettings(), redis_url=redis_url, redis_prefix=redis_prefix)
    assert isinstance(shared.store_backend, RedisStore) and shared.store_backend.prefix == redis_prefix
    await shared.close()


async def test_an_unreachable_redis_is_a_miss_and_a_skipped_store_not_an_error(clock):
    from services.gateway.cache.redis_store import RedisStore

    store = RedisStore("redis://127.0.0.1:1/0", timeout_s=0.2)
    cache = ResponseCache(store, CacheSettings(), clock=clock)
    req = cache.prepare("acme", Q)
    assert await cache.lookup(req) is None
    assert await cache.store(req, answer("Paris."), Decimal(0)) is False
    assert store.stats.store_errors == 2
    await cache.close()
