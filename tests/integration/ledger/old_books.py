"""A ledger book as an older release left it: the migrations before `upto` applied by hand and
recorded with the `applied_us` each is given (the rows a test then writes as that release did)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg

from services.common.migrations import Migration
from services.ledger.analytics.sketch import ZERO_INDEX, decode
from services.ledger.analytics.sketch_v1 import ZERO_INDEX_V1, encode_v1
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


SKETCH_TABLES = {"series_latency": ("grain", "tag", "bucket_us", "provider", "model", "key_id", "user_id", "team",
                                    "org", "run_id", "agent"),
                 "series_by_dimension": ("grain", "dimension", "bucket_us", "value")}


def _first_form(blob: bytes) -> bytes:
    """A stored sketch as the releases before 0013 wrote it (int32 pairs, zero bucket -2^31)."""
    return encode_v1({ZERO_INDEX_V1 if index == ZERO_INDEX else index: count
                      for index, count in decode(bytes(blob)).items()})


def sqlite_sketches_back(conn: sqlite3.Connection, tables: tuple[str, ...]) -> None:
    """The stored sketches of `tables` rewritten in their first form."""
    for table in tables:
        keys = SKETCH_TABLES[table]
        rows = conn.execute(f"SELECT {', '.join(keys)}, latency FROM {table}").fetchall()
        conn.executemany(f"UPDATE {table} SET latency = ? WHERE {' AND '.join(f'{k} = ?' for k in keys)}",
                         [(_first_form(r[-1]), *r[:-1]) for r in rows])


async def postgres_sketches_back(conn: Any, tables: tuple[str, ...]) -> None:
    for table in tables:
        keys = SKETCH_TABLES[table]
        rows = await conn.fetch(f"SELECT {', '.join(keys)}, latency FROM {table}")
        where = " AND ".join(f"{k} = ${i + 2}" for i, k in enumerate(keys))
        await conn.executemany(f"UPDATE {table} SET latency = $1 WHERE {where}",
                               [(_first_form(r["latency"]), *tuple(r)[:-1]) for r in rows])


async def book_rows(backend: str, database_url: str, tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    """The rows a SELECT reads from the book of a test's ledger (SQLite under `tmp_path`, or PostgreSQL)."""
    if backend == "sqlite":
        with sqlite3.connect(tmp_path / "ledger" / "ledger.db") as conn:
            return conn.execute(sql).fetchall()
    conn = await asyncpg.connect(database_url)
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()
