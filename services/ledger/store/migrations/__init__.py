"""Versioned schema migrations of the ledger: one folder per backend (`sqlite/`, `postgres/`) of
`NNNN_name.sql` files, applied in order, each in one transaction with its row in `schema_version`.

A ledger file from the release before migrations has its tables but no `schema_version`: the first
migration is written IF NOT EXISTS throughout, so it runs over that file unchanged and is recorded
as applied. A file older still (missing a column today's tables have) is refused with the columns
it lacks: start it once with release 0.1, which adds them, then with this one.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Backend = Literal["sqlite", "postgres"]
HERE = Path(__file__).parent
# two ledgers starting at once on one PostgreSQL: the second waits for the first's migrations
PG_LOCK = 0x746F6C6C  # 'toll'


class SchemaError(RuntimeError):
    """The database's schema is one this ledger cannot run on (newer, or older than it can upgrade)."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(backend: Backend) -> list[Migration]:
    out = []
    for path in sorted((HERE / backend).glob("[0-9][0-9][0-9][0-9]_*.sql")):
        number, _, name = path.stem.partition("_")
        out.append(Migration(int(number), name, path.read_text(encoding="utf-8")))
    versions = [m.version for m in out]
    if versions != list(range(1, len(out) + 1)):
        raise SchemaError(f"the {backend} migrations are not numbered 1..n: {versions}")
    return out


def latest(backend: Backend) -> int:
    return len(migrations(backend))


def _now_us() -> int:
    return time.time_ns() // 1000


def _too_new(found: set[int], backend: Backend) -> None:
    unknown = sorted(v for v in found if v > latest(backend))
    if unknown:
        raise SchemaError(f"the database is at schema version {max(unknown)}, newer than this ledger knows"
                          f" ({latest(backend)}): run the release that wrote it")


# -- SQLite ----------------------------------------------------------------------------------------

SQLITE_VERSION_TABLE = ("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
                        " name TEXT NOT NULL, applied_us INTEGER NOT NULL)")


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


def _columns(conn: sqlite3.Connection) -> dict[str, list[str]]:
    tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                         " AND name NOT LIKE 'sqlite_%'")]
    return {t: [row[1] for row in conn.execute(f"PRAGMA table_info({t})")] for t in tables}


def _check_legacy(conn: sqlite3.Connection) -> None:
    """A file adopted without schema_version must have every column of today's tables."""
    fresh = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for migration in migrations("sqlite"):
            for statement in statements(migration.sql):
                fresh.execute(statement)
        want = _columns(fresh)
    finally:
        fresh.close()
    have = _columns(conn)
    missing = [f"{t}.{c}" for t, cols in want.items() for c in cols if c not in have.get(t, cols)]
    if missing:
        raise SchemaError(f"this ledger file predates release 0.1 (it lacks {', '.join(missing)}): start it once"
                          " with release 0.1, which adds them, then with this release")


def upgrade_sqlite(conn: sqlite3.Connection) -> list[int]:
    """Apply the SQLite migrations not yet applied, in one write transaction; the versions applied."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        tables = {t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        legacy = bool(tables) and "schema_version" not in tables
        conn.execute(SQLITE_VERSION_TABLE)
        done = {v for (v,) in conn.execute("SELECT version FROM schema_version")}
        _too_new(done, "sqlite")
        applied = []
        for migration in migrations("sqlite"):
            if migration.version in done:
                continue
            for statement in statements(migration.sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version, name, applied_us) VALUES (?, ?, ?)",
                         (migration.version, migration.name, _now_us()))
            applied.append(migration.version)
        if legacy:
            _check_legacy(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return applied


def sqlite_version(conn: sqlite3.Connection) -> int:
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_version'").fetchone():
        return 0
    return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])


# -- PostgreSQL (asyncpg) --------------------------------------------------------------------------

PG_VERSION_TABLE = ("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
                    " name TEXT NOT NULL, applied_us BIGINT NOT NULL)")


async def upgrade_postgres(conn: Any) -> list[int]:
    """Apply the PostgreSQL migrations not yet applied (an asyncpg connection; PostgreSQL's DDL is
    transactional: all of it or none); the versions applied."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", PG_LOCK)
        await conn.execute(PG_VERSION_TABLE)
        done = {row[0] for row in await conn.fetch("SELECT version FROM schema_version")}
        _too_new(done, "postgres")
        applied = []
        for migration in migrations("postgres"):
            if migration.version in done:
                continue
            await conn.execute(migration.sql)
            await conn.execute("INSERT INTO schema_version (version, name, applied_us) VALUES ($1, $2, $3)",
                               migration.version, migration.name, _now_us())
            applied.append(migration.version)
    return applied
