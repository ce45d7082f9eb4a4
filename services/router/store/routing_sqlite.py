"""The routing configuration in SQLite (`<artifacts>/router/routing.db`): one row per entry
(aliases, routes, rules, experiments by name; `default_strategy` and `smart` as settings) and
a version bumped in the same transaction as every change that changes something. Its tables:
migrations/sqlite/routing/."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

from services.common import jsonio
from services.router.store.base import Entry
from services.router.store.codec import SETTINGS, encode_entry, entries, routing_config
from services.router.store.migrations import SQLITE
from services.router.store.sqlite_db import SqliteFile

__all__ = ["SETTINGS", "Entry", "SqliteRoutingStore", "entries"]


def _bump(db: sqlite3.Connection) -> int:
    return int(db.execute("UPDATE routing_version SET version = version + 1 WHERE id = 1 RETURNING version")
               .fetchone()[0])


def _version(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT version FROM routing_version WHERE id = 1").fetchone()[0])


def _put(db: sqlite3.Connection, kind: str, name: str, body: Any) -> bool:
    """Store one entry; True when it was new or different."""
    encoded = encode_entry(body)
    row = db.execute("SELECT body FROM routing_entries WHERE kind = ? AND name = ?", (kind, name)).fetchone()
    if row is not None and row[0] == encoded:
        return False
    db.execute("INSERT INTO routing_entries (kind, name, body) VALUES (?, ?, ?)"
               " ON CONFLICT (kind, name) DO UPDATE SET body = excluded.body", (kind, name, encoded))
    return True


def _config(db: sqlite3.Connection) -> dict[str, Any]:
    rows = db.execute("SELECT kind, name, body FROM routing_entries ORDER BY kind, name").fetchall()
    return routing_config(_version(db), rows)


def _get(db: sqlite3.Connection, kind: str, name: str) -> Any | None:
    row = db.execute("SELECT body FROM routing_entries WHERE kind = ? AND name = ?", (kind, name)).fetchone()
    return jsonio.loads(row[0]) if row else None


def _put_many(db: sqlite3.Connection, rows: list[Entry]) -> int:
    changed = [_put(db, kind, name, body) for kind, name, body in rows]
    return _bump(db) if any(changed) else _version(db)


def _put_checked(db: sqlite3.Connection, kind: str, name: str, body: Any,
                 check: Callable[[dict[str, Any]], None]) -> tuple[int, bool]:
    check(_config(db))  # inside the write transaction (BEGIN IMMEDIATE): no other change meanwhile
    created = _get(db, kind, name) is None
    return _put_many(db, [(kind, name, body)]), created


def _delete(db: sqlite3.Connection, kind: str, name: str) -> int | None:
    cur = db.execute("DELETE FROM routing_entries WHERE kind = ? AND name = ?", (kind, name))
    return _bump(db) if cur.rowcount else None


def _replace(db: sqlite3.Connection, rows: list[Entry]) -> int:
    db.execute("DELETE FROM routing_entries")
    for kind, name, body in rows:
        _put(db, kind, name, body)
    return _bump(db)


class SqliteRoutingStore(SqliteFile):
    migrations = SQLITE["routing"]

    async def config(self) -> dict[str, Any]:
        return await self._call(_config)

    async def get(self, kind: str, name: str) -> Any | None:
        return await self._call(_get, kind, name)

    async def put(self, kind: str, name: str, body: Any) -> int:
        return await self.put_many([(kind, name, body)])

    async def put_checked(self, kind: str, name: str, body: Any,
                          check: Callable[[dict[str, Any]], None]) -> tuple[int, bool]:
        return await self._call(_put_checked, kind, name, body, check, write=True)

    async def put_many(self, rows: Iterable[Entry]) -> int:
        return await self._call(_put_many, list(rows), write=True)

    async def delete(self, kind: str, name: str) -> int | None:
        return await self._call(_delete, kind, name, write=True)

    async def replace(self, rows: Iterable[Entry]) -> int:
        return await self._call(_replace, list(rows), write=True)

    async def version(self) -> int:
        return await self._call(_version)
