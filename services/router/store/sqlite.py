"""The registry in one SQLite file (WAL, `<artifacts>/router/registry.db`): each provider as its
JSON plus indexed columns, and the registry version in the same database, bumped in the same
transaction as the change. Its tables: migrations/sqlite/registry/."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from services.common.registry.provider import Provider
from services.router.store import codec
from services.router.store.migrations import SQLITE
from services.router.store.sqlite_db import SqliteFile


def _put(db: sqlite3.Connection, provider: Provider) -> int:
    db.execute(
        "INSERT INTO providers (name, model, active, context_window, registered_at, updated_at, body)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET model = excluded.model, active = excluded.active,"
        " context_window = excluded.context_window, registered_at = excluded.registered_at,"
        " updated_at = excluded.updated_at, body = excluded.body",
        (provider.name, provider.model, int(provider.active), provider.context_window,
         provider.registered_at, provider.updated_at, codec.encode_provider(provider)))
    row = db.execute("UPDATE registry_version SET version = version + 1 WHERE id = 1 RETURNING version").fetchone()
    return int(row[0])


def _get(db: sqlite3.Connection, name: str) -> Provider | None:
    return codec.found(db.execute("SELECT name, body FROM providers WHERE name = ?", (name,)).fetchone())


def _set_active(db: sqlite3.Connection, name: str, active: bool, now: datetime) -> Provider | None:
    provider = _get(db, name)
    if provider is None or provider.active == active:
        return provider
    changed = provider.touched(now, active=active)
    _put(db, changed)
    return changed


def _list(db: sqlite3.Connection, include_inactive: bool) -> list[Provider]:
    sql = "SELECT name, body FROM providers" + ("" if include_inactive else " WHERE active = 1")
    return codec.providers(db.execute(sql + " ORDER BY name").fetchall())


def _version(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT version FROM registry_version WHERE id = 1").fetchone()[0])


class SqliteRegistryStore(SqliteFile):
    migrations = SQLITE["registry"]

    async def get(self, name: str) -> Provider | None:
        return await self._call(_get, name)

    async def upsert(self, provider: Provider) -> int:
        return await self._call(_put, provider, write=True)

    async def set_active(self, name: str, active: bool, now: datetime) -> Provider | None:
        return await self._call(_set_active, name, active, now, write=True)

    async def list(self, include_inactive: bool = False) -> list[Provider]:
        return await self._call(_list, include_inactive)

    async def version(self) -> int:
        return await self._call(_version)
