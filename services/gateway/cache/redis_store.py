"""Redis cache store: entries shared by every gateway replica.

Each read or write is one EVALSHA (redis_scripts.py), so the LRU order, the size totals and the
tenant/model indexes never disagree. Time is the gateway's (`now`), as in the rate limiter; Redis
also expires an entry itself a minute after its TTL, so that a stopped fleet leaves nothing behind.

Semantic search runs in-process: each replica keeps a mirror of the vectors (vectors.py), filled
from the entries when first used and kept current from the `log` stream, which every write and
removal appends to (one XREAD before each search). A candidate found in the mirror is read back
through GET, so an entry that expired, was evicted or invalidated elsewhere is never served.
Redis unreachable: a lookup is a miss and a store is skipped (counted in `stats.store_errors`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

from services.gateway.cache.entry import CacheStats, Entry
from services.gateway.cache.redis_scripts import GET, INVALIDATE, PUT
from services.gateway.cache.store import Invalidation

if TYPE_CHECKING:
    import numpy as np

    from services.gateway.cache.vectors import VectorIndex

log = structlog.get_logger("tollway.gateway.cache")


class RedisStore:
    def __init__(self, url: str = "redis://127.0.0.1:6379/0", *, prefix: str = "tollway:cache:",
                 max_entries: int = 10_000, max_bytes: int = 256 * 1024 * 1024,
                 max_entry_bytes: int = 1024 * 1024, log_len: int = 200_000, timeout_s: float = 0.25,
                 client: Redis | None = None, stats: CacheStats | None = None) -> None:
        self._redis = client or Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self.prefix = prefix
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self.log_len = log_len
        self.stats = stats or CacheStats()
        self._shas: dict[str, str] = {}
        self._mirror: VectorIndex | None = None
        self._log_id = "0-0"

    async def _eval(self, script: str, *args: Any) -> Any:
        sha = self._shas.get(script)
        if sha is None:
            sha = self._shas[script] = await self._redis.script_load(script)
        try:
            return await self._redis.evalsha(sha, 0, self.prefix, *args)
        except NoScriptError:
            self._shas[script] = await self._redis.script_load(script)
            return await self._redis.evalsha(self._shas[script], 0, self.prefix, *args)

    async def get(self, key: str, now: float) -> Entry | None:
        try:
            raw, expired = await self._eval(GET, key, _ms(now), self.log_len)
        except (RedisError, OSError) as exc:
            self._failed("get", exc)
            return None
        self.stats.expired += int(expired)
        return Entry.loads(raw) if raw else None

    async def put(self, entry: Entry, now: float) -> bool:
        if entry.size > self.max_entry_bytes or entry.size > self.max_bytes:
            return False
        ttl_ms = max(int((entry.expires_at - now) * 1000), 1)
        try:
            expired, evicted = await self._eval(
                PUT, entry.key, entry.tenant, entry.model, entry.dumps(), entry.vector or b"", entry.scope or "",
                entry.size, _ms(now), ttl_ms, self.max_entries, self.max_bytes, self.log_len)
        except (RedisError, OSError) as exc:
            self._failed("put", exc)
            return False
        self.stats.expired += int(expired)
        self.stats.evicted += int(evicted)
        return True

    async def nearest(self, scope: str, vector: np.ndarray, k: int, min_similarity: float,
                      now: float) -> list[tuple[Entry, float]]:
        try:
            mirror = await self._follow()
        except (RedisError, OSError) as exc:
            self._failed("nearest", exc)
            return []
        out = []
        for key, sim in mirror.search(scope, vector, k, min_similarity):
            entry = await self.get(key, now)
            if entry is None:
                mirror.remove(scope, key)
            else:
                out.append((entry, sim))
        return out

    async def _follow(self) -> VectorIndex:
        """The mirror, brought up to date with the log (rebuilt when the log was trimmed past it)."""
        if self._mirror is None:
            from services.gateway.cache.vectors import VectorIndex
            self._mirror = VectorIndex()
            await self._rebuild()
        mirror = self._mirror
        stream = self.prefix + "log"
        while True:
            got: Any = await self._redis.xread({stream: self._log_id}, count=10_000)
            if not got:
                return mirror
            events: list[Any] = got[0][1]
            if self._log_id != "0-0":
                info: Any = await self._redis.xinfo_stream(stream)
                if _id_before(self._log_id, info.get("first-entry")):
                    await self._rebuild()  # events this replica never saw were trimmed away
                    return mirror
            for event_id, fields in events:
                key, scope = _text(fields[b"k"]), _text(fields[b"s"])
                if fields[b"op"] == b"add":
                    mirror.add(scope, key, bytes(fields[b"v"]))
                else:
                    mirror.remove(scope, key)
                self._log_id = _text(event_id)
            if len(events) < 10_000:
                return mirror

    async def _rebuild(self) -> None:
        assert self._mirror is not None
        self._mirror.clear()
        last: Any = await self._redis.xrevrange(self.prefix + "log", count=1)
        self._log_id = _text(last[0][0]) if last else "0-0"
        keys = [_text(k) for k in await self._redis.zrange(self.prefix + "lru", 0, -1)]
        for i in range(0, len(keys), 1000):
            pipe = self._redis.pipeline(transaction=False)
            for key in keys[i:i + 1000]:
                pipe.hmget(self.prefix + "e:" + key, "s", "v")
            rows: list[Any] = await pipe.execute()
            for key, (scope, vec) in zip(keys[i:i + 1000], rows, strict=True):
                if scope and vec:
                    self._mirror.add(_text(scope), key, bytes(vec))

    async def invalidate(self, what: Invalidation) -> int:
        if what.everything:
            mode, a, b = "all", "", ""
        elif what.key is not None:
            mode, a, b = "key", what.key, what.tenant or ""
        elif what.tenant is not None:
            mode, a, b = "tenant", what.tenant, what.model or ""
        else:
            mode, a, b = "model", what.model or "", ""
        return int(await self._eval(INVALIDATE, self.log_len, mode, a, b))

    async def size(self) -> tuple[int, int]:
        entries = await self._redis.zcard(self.prefix + "lru")
        total = await self._redis.get(self.prefix + "bytes")
        return int(entries), int(total or 0)

    async def clear(self) -> None:
        """Delete every key under the prefix (tests, and a full reset)."""
        async for key in self._redis.scan_iter(match=self.prefix + "*", count=1000):
            await self._redis.delete(key)
        if self._mirror is not None:
            self._mirror.clear()
        self._log_id = "0-0"

    async def close(self) -> None:
        await self._redis.aclose()

    def _failed(self, op: str, exc: BaseException) -> None:
        self.stats.store_errors += 1
        log.warning("cache_store_unavailable", op=op, error=repr(exc)[:200])


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _id_before(a: str, first_entry: Any) -> bool:
    """Whether stream id `a` is older than the stream's first entry (the log was trimmed past it)."""
    if not first_entry:
        return False
    first = _text(first_entry[0])
    pa, pb = (tuple(int(x) for x in s.split("-")) for s in (a, first))
    return pa < pb
