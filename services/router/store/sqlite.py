"""The registry in one SQLite file (WAL): each provider as its JSON plus indexed columns, and
the registry version in the same database, bumped in the same transaction as the change.

A row the router cannot read back (written by an older release, or by hand: JSON that is not a
provider, or one it could not write out again, e.g. a number beyond 64 bits) is left out of every
listing and the snapshot and logged once by name; looked up by name it is not there, so
registering that name again replaces it."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from services.common import jsonio
from services.common.errors import TollwayError
from services.common.registry.provider import Provider
from services.common.stored_rows import UnreadableRow, readable
from services.router.store.sqlite_db import SqliteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS providers (
    name TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    active INTEGER NOT NULL,
    context_window INTEGER NOT NULL,
    registered_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS providers_active_model ON providers (active, model);
CREATE TABLE IF NOT EXISTS registry_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT OR IGNORE INTO registry_version (id, version) VALUES (1, 0);
"""


def _encode(provider: Provider) -> str:
    return jsonio.dumps(provider.to_json()).decode()


def _decode(body: str) -> Provider:
    return Provider.from_json(jsonio.loads_exact(body))


def _readable(row: tuple[Any, ...]) -> Provider:
    """The provider of a (name, body) row, if the router can read it and write it out again."""
    name, body = row
    try:
        provider = _decode(body)
        jsonio.dumps(provider.to_json())
    except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError, TollwayError):
        raise UnreadableRow("providers", str(name), "body", service="router") from None
    return provider


def _found(row: tuple[Any, ...] | None) -> Provider | None:
    if row is None:
        return None
    found = readable([row], _readable)
    return found[0] if found else None


class SqliteRegistryStore(SqliteFile):
    schema = SCHEMA

    def _put(self, db: sqlite3.Connection, provider: Provider) -> int:
        db.execute(
            "INSERT INTO providers (name, model, active, context_window, registered_at, updated_at, body)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET model = excluded.model, active = excluded.active,"
            " context_window = excluded.context_window, registered_at = excluded.registered_at,"
            " updated_at = excluded.updated_at, body = excluded.body",
            (provider.name, provider.model, int(provider.active), provider.context_window,
             provider.registered_at, provider.updated_at, _encode(provider)))
        row = db.execute("UPDATE registry_version SET version = version + 1 WHERE id = 1"
                         " RETURNING version").fetchone()
        return int(row[0])

    def get(self, name: str) -> Provider | None:
        with self._lock:
            row = self.db.execute("SELECT name, body FROM providers WHERE name = ?", (name,)).fetchone()
        return _found(row)

    def upsert(self, provider: Provider) -> int:
        with self._write() as db:
            return self._put(db, provider)

    def set_active(self, name: str, active: bool, now: datetime) -> Provider | None:
        with self._write() as db:
            provider = _found(db.execute("SELECT name, body FROM providers WHERE name = ?", (name,)).fetchone())
            if provider is None:
                return None
            if provider.active == active:
                return provider
            changed = provider.touched(now, active=active)
            self._put(db, changed)
            return changed

    def list(self, include_inactive: bool = False) -> list[Provider]:
        sql = "SELECT name, body FROM providers" + ("" if include_inactive else " WHERE active = 1")
        with self._lock:
            rows = self.db.execute(sql + " ORDER BY name").fetchall()
        return readable(rows, _readable)

    def version(self) -> int:
        with self._lock:
            row = self.db.execute("SELECT version FROM registry_version WHERE id = 1").fetchone()
        return int(row[0])
