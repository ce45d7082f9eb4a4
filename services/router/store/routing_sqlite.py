"""The routing configuration in SQLite (`<artifacts>/router/routing.db`): one row per entry
(aliases, routes, rules, experiments by name; `default_strategy` and `smart` as settings) and
a version bumped in the same transaction as every change that changes something."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from services.common import jsonio
from services.common.selection.config import KINDS
from services.router.store.sqlite_db import SqliteFile

SETTINGS = "settings"  # kind of the single-valued entries
SETTING_NAMES = ("default_strategy", "smart")

SCHEMA = """
CREATE TABLE IF NOT EXISTS routing_entries (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, name)
);
CREATE TABLE IF NOT EXISTS routing_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT OR IGNORE INTO routing_version (id, version) VALUES (1, 0);
"""

Entry = tuple[str, str, Any]  # (kind, name, body)


def entries(config: Mapping[str, Any]) -> list[Entry]:
    """A routing_config body as rows."""
    rows: list[Entry] = [(kind, name, body) for kind in KINDS for name, body in (config.get(kind) or {}).items()]
    rows += [(SETTINGS, name, config[name]) for name in SETTING_NAMES if config.get(name) is not None]
    return rows


class SqliteRoutingStore(SqliteFile):
    schema = SCHEMA

    def _bump(self, db: sqlite3.Connection) -> int:
        row = db.execute("UPDATE routing_version SET version = version + 1 WHERE id = 1 RETURNING version").fetchone()
        return int(row[0])

    def _put(self, db: sqlite3.Connection, kind: str, name: str, body: Any) -> bool:
        """Store one entry; True when it was new or different."""
        encoded = jsonio.dumps(body).decode()
        row = db.execute("SELECT body FROM routing_entries WHERE kind = ? AND name = ?", (kind, name)).fetchone()
        if row is not None and row[0] == encoded:
            return False
        db.execute("INSERT INTO routing_entries (kind, name, body) VALUES (?, ?, ?)"
                   " ON CONFLICT (kind, name) DO UPDATE SET body = excluded.body", (kind, name, encoded))
        return True

    def config(self) -> dict[str, Any]:
        """The whole configuration as a routing_config body, with its version."""
        with self._read() as db:
            rows = db.execute("SELECT kind, name, body FROM routing_entries ORDER BY kind, name").fetchall()
            version = int(db.execute("SELECT version FROM routing_version WHERE id = 1").fetchone()[0])
        out: dict[str, Any] = {"version": version, **{kind: {} for kind in KINDS}}
        for kind, name, body in rows:
            value = jsonio.loads(body)
            if kind == SETTINGS:
                out[name] = value
            else:
                out[kind][name] = value
        return out

    def get(self, kind: str, name: str) -> Any | None:
        with self._read() as db:
            row = db.execute("SELECT body FROM routing_entries WHERE kind = ? AND name = ?", (kind, name)).fetchone()
        return jsonio.loads(row[0]) if row else None

    def put(self, kind: str, name: str, body: Any) -> int:
        return self.put_many([(kind, name, body)])

    def put_many(self, rows: Iterable[Entry]) -> int:
        """Upsert entries; one version bump if any changed. The version after."""
        with self._write() as db:
            changed = [self._put(db, kind, name, body) for kind, name, body in rows]
            if any(changed):
                return self._bump(db)
            return int(db.execute("SELECT version FROM routing_version WHERE id = 1").fetchone()[0])

    def delete(self, kind: str, name: str) -> int | None:
        """Remove one entry: the new version, or None if there was no such entry."""
        with self._write() as db:
            cur = db.execute("DELETE FROM routing_entries WHERE kind = ? AND name = ?", (kind, name))
            return self._bump(db) if cur.rowcount else None

    def replace(self, rows: Iterable[Entry]) -> int:
        """The configuration becomes exactly `rows`; the version moves once."""
        with self._write() as db:
            db.execute("DELETE FROM routing_entries")
            for kind, name, body in rows:
                self._put(db, kind, name, body)
            return self._bump(db)

    def version(self) -> int:
        with self._read() as db:
            return int(db.execute("SELECT version FROM routing_version WHERE id = 1").fetchone()[0])
