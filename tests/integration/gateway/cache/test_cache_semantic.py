"""Semantic hits with the real model: paraphrases hit, near misses and other tenants do not,
and a second replica sharing Redis finds what the first stored."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from services.gateway.cache import CacheSettings, ResponseCache

SYSTEM = {"role": "system", "content": "Answer in one short sentence."}


def ask(text: str, system: dict = SYSTEM, **extra) -> dict:
    return {"model": "gpt-4o-mini", "temperature": 0, **extra, "messages": [system, {"role": "user", "content": text}]}


def answer(text: str) -> bytes:
    return orjson.dumps({"object": "chat.completion", "model": "gpt-4o-mini",
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                      "finish_reason": "stop"}]})


@pytest.fixture
def semantic(make_store, clock, embedder):
    def make():
        return ResponseCache(make_store(), CacheSettings(semantic=True), embedder=embedder, clock=clock)
    return make


async def seed(cache, tenant="acme"):
    for q, a in [("What is the capital of France?", "Paris."), ("What is 2+2?", "4."),
                 ("Translate 'hello' to French.", "Bonjour."), ("How do I reverse a list in Python?", "l[::-1]")]:
        req = cache.prepare(tenant, ask(q))
        assert await cache.store(req, answer(a), Decimal("0.000500"))


@pytest.mark.parametrize("question,expected", [
    ("What's France's capital?", "Paris."),
    ("what's 2+2", "4."),
    ("Could you please translate 'hello' into French?", "Bonjour."),
    ("What's the way to reverse a Python list?", "l[::-1]"),
])
async def test_paraphrases_hit_with_their_similarity(semantic, question, expected):
    cache = semantic()
    await seed(cache)
    hit = await cache.lookup(cache.prepare("acme", ask(question)))
    assert hit is not None and hit.kind == "semantic"
    assert orjson.loads(hit.body)["choices"][0]["message"]["content"] == expected
    assert 0.6 <= hit.similarity < 1.0 and hit.receipt_fields()["cache_kind"] == "semantic"


@pytest.mark.parametrize("question", [
    "What is the capital of Germany?", "What is 2+3?", "Translate 'hello' to German.",
    "Translate 'goodbye' to French.", "How do I reverse a list in Ruby?", "What is not the capital of France?",
])
async def test_near_misses_never_hit(semantic, question):
    cache = semantic()
    await seed(cache)
    assert await cache.lookup(cache.prepare("acme", ask(question))) is None


async def test_semantic_hits_stay_within_tenant_model_parameters_and_conversation(semantic):
    cache = semantic()
    await seed(cache)
    para = "What's France's capital?"
    assert await cache.lookup(cache.prepare("globex", ask(para))) is None
    assert await cache.lookup(cache.prepare("acme", ask(para, model="gpt-4o"))) is None
    assert await cache.lookup(cache.prepare("acme", ask(para, max_tokens=3))) is None
    wordy = {"role": "system", "content": "Be wordy."}
    assert await cache.lookup(cache.prepare("acme", ask(para, system=wordy))) is None
    off = ask(para, tollway={"cache": {"semantic": False}})
    assert await cache.lookup(cache.prepare("acme", off)) is None
    assert await cache.lookup(cache.prepare("acme", ask(para))) is not None


async def test_a_second_replica_finds_and_forgets_what_the_first_stored(redis_url, redis_prefix, clock, embedder):
    from services.gateway.cache.redis_store import RedisStore

    one = ResponseCache(RedisStore(redis_url, prefix=redis_prefix), CacheSettings(semantic=True),
                        embedder=embedder, clock=clock)
    two = ResponseCache(RedisStore(redis_url, prefix=redis_prefix), CacheSettings(semantic=True),
                        embedder=embedder, clock=clock)
    try:
        assert await two.lookup(two.prepare("acme", ask("What's France's capital?"))) is None  # mirror built
        await seed(one)
        hit = await two.lookup(two.prepare("acme", ask("What's France's capital?")))
        assert hit is not None and hit.kind == "semantic"
        assert await one.invalidate(tenant="acme") == 4
        assert await two.lookup(two.prepare("acme", ask("What's France's capital?"))) is None
    finally:
        await one.store_backend.clear()  # type: ignore[attr-defined]
        await one.close()
        await two.close()


async def test_an_expired_entry_is_never_a_semantic_hit(semantic, clock):
    from datetime import timedelta

    cache = semantic()
    await seed(cache)
    clock.set(clock.now() + timedelta(seconds=CacheSettings().default_ttl_s + 1))
    assert await cache.lookup(cache.prepare("acme", ask("What's France's capital?"))) is None
