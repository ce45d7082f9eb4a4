"""Versioned schema migrations, one runner for every service: a service's migrations are a folder
of `NNNN_name.sql` files per backend (and per SQLite file), applied in order, each in one
transaction with its row in the service's version table (version, name, applied_us).

A database from the release before migrations has its tables but no version table: each service's
first migration is written IF NOT EXISTS throughout, so it runs over that database unchanged and is
recorded as applied. A database older still (missing a column today's tables have) is refused with
the columns it lacks. A database at a version newer than the code knows is refused.

On PostgreSQL the run holds an advisory lock (one per service), so replicas starting together apply
a migration once; its DDL is transactional: all of a migration or none.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class SchemaError(RuntimeError):
    """The database's schema is one this service cannot run on (newer, or older than it can upgrade)."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def statements(sql: str) -> list[str]:
    """The SQL statements of a SQLite migration file, one by one (executescript would commit)."""
    out, pending = [], ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            out.append(pending.strip())
            pending = ""
    if pending.strip() and not all(ln.strip().startswith("--") or not ln.strip() for ln in pending.splitlines()):
        raise SchemaError(f"a migration ends in an incomplete statement: {pending.strip()[:80]!r}")
    return out


def _now_us() -> int:
    return time.time_ns() // 1000


def _columns(conn: sqlite3.Connection) -> dict[str, list[str]]:
    tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                         " AND name NOT LIKE 'sqlite_%'")]
    return {t: [row[1] for row in conn.execute(f"PRAGMA table_info({t})")] for t in tables}


@dataclass(frozen=True)
class MigrationSet:
    """One service's migrations for one database: `folder` holds the NNNN_name.sql files, `table`
    records which were applied, `lock` is the PostgreSQL advisory lock key, `service` and `what`
    name the service and the database in errors ("router", "router registry")."""

    folder: Path
    table: str
    service: str
    what: str
    lock: int = 0
    sqlite_functions: Callable[[sqlite3.Connection], None] | None = None  # SQL functions its migrations call

    def migrations(self) -> list[Migration]:
        out = []
        for path in sorted(self.folder.glob("[0-9][0-9][0-9][0-9]_*.sql")):
            number, _, name = path.stem.partition("_")
            out.append(Migration(int(number), name, path.read_text(encoding="utf-8")))
        versions = [m.version for m in out]
        if versions != list(range(1, len(out) + 1)):
            raise SchemaError(f"the migrations in {self.folder} are not numbered 1..n: {versions}")
        return out

    def latest(self) -> int:
        return len(self.migrations())

    def _too_new(self, found: set[int]) -> None:
        unknown = sorted(v for v in found if v > self.latest())
        if unknown:
            raise SchemaError(f"the {self.what} database is at schema version {max(unknown)}, newer than this"
                              f" {self.service} knows ({self.latest()}): run the release that wrote it")

    # -- SQLite ------------------------------------------------------------------------------

    def _check_legacy(self, conn: sqlite3.Connection) -> None:
        """A file adopted without a version table must have every column of today's tables."""
        fresh = sqlite3.connect(":memory:", isolation_level=None)
        if self.sqlite_functions is not None:
            self.sqlite_functions(fresh)
        try:
            fresh.execute(self._sqlite_table())  # a migration may read it (the ledger's 0010 does)
            for migration in self.migrations():
                for statement in statements(migration.sql):
                    fresh.execute(statement)
            want = _columns(fresh)
        finally:
            fresh.close()
        have = _columns(conn)
        missing = [f"{t}.{c}" for t, cols in want.items() for c in cols if c not in have.get(t, cols)]
        if missing:
            raise SchemaError(f"this {self.what} file predates release 0.1 (it lacks {', '.join(missing)}): start it"
                              " once with release 0.1, which adds them, then with this release")

    def _sqlite_table(self) -> str:
        return (f"CREATE TABLE IF NOT EXISTS {self.table} (version INTEGER PRIMARY KEY,"
                " name TEXT NOT NULL, applied_us INTEGER NOT NULL)")

    def upgrade_sqlite(self, conn: sqlite3.Connection) -> list[int]:
        """Apply the migrations not yet applied, in one write transaction; the versions applied."""
        if self.sqlite_functions is not None:
            self.sqlite_functions(conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            tables = {t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            legacy = bool(tables) and self.table not in tables
            conn.execute(self._sqlite_table())
            done = {v for (v,) in conn.execute(f"SELECT version FROM {self.table}")}
            self._too_new(done)
            applied = []
            for migration in self.migrations():
                if migration.version in done:
                    continue
                for statement in statements(migration.sql):
                    conn.execute(statement)
                conn.execute(f"INSERT INTO {self.table} (version, name, applied_us) VALUES (?, ?, ?)",
                             (migration.version, migration.name, _now_us()))
                applied.append(migration.version)
            if legacy:
                self._check_legacy(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return applied

    def sqlite_version(self, conn: sqlite3.Connection) -> int:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (self.table,)).fetchone():
            return 0
        return int(conn.execute(f"SELECT COALESCE(MAX(version), 0) FROM {self.table}").fetchone()[0])

    # -- PostgreSQL (asyncpg) ----------------------------------------------------------------

    async def upgrade_postgres(self, conn: Any) -> list[int]:
        """Apply the migrations not yet applied (an asyncpg connection); the versions applied."""
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", self.lock)
            await conn.execute(f"CREATE TABLE IF NOT EXISTS {self.table} (version INTEGER PRIMARY KEY,"
                               " name TEXT NOT NULL, applied_us BIGINT NOT NULL)")
            done = {row[0] for row in await conn.fetch(f"SELECT version FROM {self.table}")}
            self._too_new(done)
            applied = []
            for migration in self.migrations():
                if migration.version in done:
                    continue
                await conn.execute(migration.sql)
                await conn.execute(f"INSERT INTO {self.table} (version, name, applied_us) VALUES ($1, $2, $3)",
                                   migration.version, migration.name, _now_us())
                applied.append(migration.version)
        return applied
