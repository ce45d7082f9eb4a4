"""The router's stores on PostgreSQL through one asyncpg pool: the registry, the routing
configuration and the outcome log (tables: migrations/postgres/). Every write is one READ
COMMITTED transaction that locks the row of the version it bumps first, so writes from any number
of routers take turns and each version is given once; reads of several things together are one
REPEATABLE READ read-only transaction. Nothing blocks the event loop.

The three stores share one `PgRouterDatabase`: opened by the first store's `open` (the pool, then
the migrations under their advisory lock), closed with the last store's `close`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import asyncpg

from services.common import jsonio
from services.common.db import database_lost, mask_url, open_pool
from services.common.outcome_window import Outcome
from services.common.registry.provider import Provider
from services.router.store import codec
from services.router.store.base import Entry
from services.router.store.migrations import POSTGRES

T = TypeVar("T")
ACQUIRE_TIMEOUT_S = 5.0  # the database away: a request waits this long for a connection at most


class PgRouterDatabase:
    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8) -> None:
        self.url = url
        self.min_size, self.max_size = min_size, max_size
        self._pool: asyncpg.Pool | None = None
        self._users = 0

    def __repr__(self) -> str:
        return f"PgRouterDatabase({mask_url(self.url)!r})"

    async def open(self) -> None:
        self._users += 1
        if self._pool is not None:
            return
        try:
            pool = await open_pool(self.url, "router", min_size=self.min_size, max_size=self.max_size)
            try:
                async with pool.acquire() as conn:
                    await POSTGRES.upgrade_postgres(conn)
            except BaseException:
                await pool.close()
                raise
        except BaseException:
            self._users -= 1
            raise
        self._pool = pool

    async def close(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users == 0 and self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the router's PostgreSQL store is not open")
        return self._pool

    async def write(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        with database_lost(self.url, "router"):
            async with self.pool().acquire(timeout=ACQUIRE_TIMEOUT_S) as conn, conn.transaction():
                return await fn(conn, *args)

    async def read(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        with database_lost(self.url, "router"):
            async with self.pool().acquire(timeout=ACQUIRE_TIMEOUT_S) as conn, \
                    conn.transaction(isolation="repeatable_read", readonly=True):
                return await fn(conn, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        with database_lost(self.url, "router"):
            return await self.pool().fetchval(sql, *args)

    async def versions(self) -> tuple[int, int]:
        """(registry version, routing version), read together: what a replica's watcher compares."""
        with database_lost(self.url, "router"):
            row = await self.pool().fetchrow("SELECT (SELECT version FROM registry_version WHERE id = 1),"
                                             " (SELECT version FROM routing_version WHERE id = 1)")
        return int(row[0]), int(row[1])


class _PgStore:
    def __init__(self, db: PgRouterDatabase) -> None:
        self.db = db

    async def open(self) -> None:
        await self.db.open()

    async def close(self) -> None:
        await self.db.close()


# -- the registry ------------------------------------------------------------------------------

async def _put(conn: Any, provider: Provider) -> int:
    version = await conn.fetchval("UPDATE registry_version SET version = version + 1 WHERE id = 1 RETURNING version")
    await conn.execute(
        "INSERT INTO providers (name, model, active, context_window, registered_at, updated_at, body)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (name) DO UPDATE SET model = excluded.model, active = excluded.active,"
        " context_window = excluded.context_window, registered_at = excluded.registered_at,"
        " updated_at = excluded.updated_at, body = excluded.body",
        provider.name, provider.model, provider.active, provider.context_window, provider.registered_at,
        provider.updated_at, codec.encode_provider(provider))
    return int(version)


async def _get(conn: Any, name: str) -> Provider | None:
    row = await conn.fetchrow("SELECT name, body FROM providers WHERE name = $1", name)
    return codec.found(None if row is None else tuple(row))


async def _set_active(conn: Any, name: str, active: bool, now: datetime) -> Provider | None:
    # the version's row first, as in _put: two routers' writes lock in one order, never cross
    await conn.execute("SELECT version FROM registry_version WHERE id = 1 FOR UPDATE")
    provider = await _get(conn, name)
    if provider is None or provider.active == active:
        return provider
    changed = provider.touched(now, active=active)
    await _put(conn, changed)
    return changed


async def _list(conn: Any, include_inactive: bool) -> list[Provider]:
    sql = "SELECT name, body FROM providers" + ("" if include_inactive else " WHERE active")
    return codec.providers([tuple(r) for r in await conn.fetch(sql + " ORDER BY name")])


class PgRegistryStore(_PgStore):
    async def get(self, name: str) -> Provider | None:
        return await self.db.read(_get, name)

    async def upsert(self, provider: Provider) -> int:
        return await self.db.write(_put, provider)

    async def set_active(self, name: str, active: bool, now: datetime) -> Provider | None:
        return await self.db.write(_set_active, name, active, now)

    async def list(self, include_inactive: bool = False) -> list[Provider]:
        return await self.db.read(_list, include_inactive)

    async def version(self) -> int:
        return int(await self.db.fetchval("SELECT version FROM registry_version WHERE id = 1"))


# -- the routing configuration -------------------------------------------------------------------

async def _lock_routing(conn: Any) -> int:
    """Lock the routing version's row: changes from any router take turns. The version now."""
    return int(await conn.fetchval("SELECT version FROM routing_version WHERE id = 1 FOR UPDATE"))


async def _bump_routing(conn: Any) -> int:
    return int(await conn.fetchval("UPDATE routing_version SET version = version + 1 WHERE id = 1 RETURNING version"))


async def _put_entry(conn: Any, kind: str, name: str, body: Any) -> bool:
    encoded = codec.encode_entry(body)
    status = await conn.execute(
        "INSERT INTO routing_entries (kind, name, body) VALUES ($1, $2, $3) ON CONFLICT (kind, name)"
        " DO UPDATE SET body = excluded.body WHERE routing_entries.body IS DISTINCT FROM excluded.body",
        kind, name, encoded)
    return bool(status != "INSERT 0 0")


async def _put_checked(conn: Any, kind: str, name: str, body: Any,
                       check: Callable[[dict[str, Any]], None]) -> tuple[int, bool]:
    version = await _lock_routing(conn)
    check(await _config(conn))  # after the lock: every change committed before it is seen
    created = await conn.fetchval("SELECT body FROM routing_entries WHERE kind = $1 AND name = $2", kind, name) is None
    return (await _bump_routing(conn) if await _put_entry(conn, kind, name, body) else version), created


async def _put_many(conn: Any, rows: list[Entry]) -> int:
    version = await _lock_routing(conn)
    changed = [await _put_entry(conn, kind, name, body) for kind, name, body in rows]
    return await _bump_routing(conn) if any(changed) else version


async def _delete(conn: Any, kind: str, name: str) -> int | None:
    await _lock_routing(conn)
    status = await conn.execute("DELETE FROM routing_entries WHERE kind = $1 AND name = $2", kind, name)
    return await _bump_routing(conn) if status != "DELETE 0" else None


async def _replace(conn: Any, rows: list[Entry]) -> int:
    await _lock_routing(conn)
    await conn.execute("DELETE FROM routing_entries")
    for kind, name, body in rows:
        await _put_entry(conn, kind, name, body)
    return await _bump_routing(conn)


async def _config(conn: Any) -> dict[str, Any]:
    version = await conn.fetchval("SELECT version FROM routing_version WHERE id = 1")
    rows = await conn.fetch("SELECT kind, name, body FROM routing_entries ORDER BY kind, name")
    return codec.routing_config(int(version), [tuple(r) for r in rows])


class PgRoutingStore(_PgStore):
    async def config(self) -> dict[str, Any]:
        return await self.db.read(_config)

    async def get(self, kind: str, name: str) -> Any | None:
        body = await self.db.fetchval("SELECT body FROM routing_entries WHERE kind = $1 AND name = $2", kind, name)
        return None if body is None else jsonio.loads(body)

    async def put(self, kind: str, name: str, body: Any) -> int:
        return await self.put_many([(kind, name, body)])

    async def put_checked(self, kind: str, name: str, body: Any,
                          check: Callable[[dict[str, Any]], None]) -> tuple[int, bool]:
        return await self.db.write(_put_checked, kind, name, body, check)

    async def put_many(self, rows: Iterable[Entry]) -> int:
        return await self.db.write(_put_many, list(rows))

    async def delete(self, kind: str, name: str) -> int | None:
        return await self.db.write(_delete, kind, name)

    async def replace(self, rows: Iterable[Entry]) -> int:
        return await self.db.write(_replace, list(rows))

    async def version(self) -> int:
        return int(await self.db.fetchval("SELECT version FROM routing_version WHERE id = 1"))


# -- the outcome log -----------------------------------------------------------------------------

class PgOutcomeLog(_PgStore):
    async def append(self, outcomes: Sequence[Outcome]) -> None:
        if outcomes:
            newest, blob = codec.encode_outcomes(outcomes)
            await self.db.pool().execute("INSERT INTO outcome_batches (newest_at, outcomes) VALUES ($1, $2)",
                                         newest, blob)

    async def since(self, horizon: float) -> list[Outcome]:
        rows = await self.db.pool().fetch(
            "SELECT outcomes FROM outcome_batches WHERE newest_at >= $1 ORDER BY id", horizon)
        return codec.kept_since([r[0] for r in rows], horizon)

    async def prune(self, horizon: float) -> int:
        status = await self.db.pool().execute("DELETE FROM outcome_batches WHERE newest_at < $1", horizon)
        return int(status.rpartition(" ")[2])

    async def epoch(self) -> int:
        return int(await self.db.fetchval("SELECT epoch FROM stats_epoch WHERE id = 1"))

    async def bump_epoch(self) -> int:
        return int(await self.db.fetchval("UPDATE stats_epoch SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch"))
