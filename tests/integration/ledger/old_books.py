"""A ledger book as an older release left it: the migrations before `upto` applied by hand and
recorded with the `applied_us` each is given (the rows a test then writes as that release did)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from services.common.migrations import Migration
from services.ledger.store.migrations import migrations, statements
from services.ledger.store.sqlite import sketch_sql

Applied = Callable[[Migration], int]


def sqlite_at(conn: sqlite3.Connection, upto: int, applied: Applied = lambda _: 0) -> None:
    sketch_sql.install(conn)  # the SQL functions the ledger's connection has (a migration may use them)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                 " applied_us INTEGER NOT NULL)")
    for m in migrations("sqlite")[:upto]:
        for statement in statements(m.sql):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version VALUES (?, ?, ?)", (m.version, m.name, applied(m)))


async def postgres_at(conn: Any, upto: int, applied: Applied = lambda _: 0) -> None:
    """`conn`: an asyncpg connection on the test's schema."""
    await conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                       " applied_us BIGINT NOT NULL)")
    for m in migrations("postgres")[:upto]:
        await conn.execute(m.sql)
        await conn.execute("INSERT INTO schema_version VALUES ($1, $2, $3)", m.version, m.name, applied(m))
