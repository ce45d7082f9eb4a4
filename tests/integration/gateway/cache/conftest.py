"""Cache stores for the shared behaviour suite: in-process and the real Redis at 127.0.0.1:6379
(a random key prefix per test, deleted afterwards), plus the real embedding model."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime

import pytest
import redis

from services.common.clock import FrozenClock

REDIS_URL = os.environ.get("TOLLWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.exceptions.RedisError:
        return False


def require(ok: bool, what: str) -> None:
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is required in CI")
        pytest.skip(f"{what} is not available")


@pytest.fixture(scope="session")
def embedder():
    from services.gateway.cache.embedder import SemanticUnavailable, load_embedder
    try:
        return load_embedder()
    except SemanticUnavailable:
        require(False, "the semantic extra (pip install '.[semantic]')")


@pytest.fixture
def clock():
    return FrozenClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))


@pytest.fixture
def redis_prefix():
    return f"tollway:test:cache:{secrets.token_hex(6)}:"


@pytest.fixture
def redis_url():
    require(redis_reachable(), f"Redis at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture(params=["memory", "redis"])
async def make_store(request, redis_prefix):
    """A factory: make_store(**limits) -> a new store; Redis stores made by one test share a prefix
    (two gateway replicas)."""
    from services.gateway.cache.memory import MemoryStore
    from services.gateway.cache.redis_store import RedisStore

    made = []
    if request.param == "redis":
        require(redis_reachable(), f"Redis at {REDIS_URL}")

    def make(**limits):
        store = MemoryStore(**limits) if request.param == "memory" else RedisStore(REDIS_URL, prefix=redis_prefix,
                                                                                     **limits)
        made.append(store)
        return store

    make.backend = request.param
    yield make
    for store in made:
        if request.param == "redis":
            await store.clear()
        await store.close()
