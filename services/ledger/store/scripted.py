"""Transactions written once for both backends: a script is a generator that yields `Sql`
statements and is sent each one's result (rows for a query, the count of rows changed for any
other statement); `on_sqlite` and `on_postgres` run it inside one store transaction.

Statements use `?` placeholders (turned into `$1..$n` for PostgreSQL) and SQL both engines speak
(`ON CONFLICT ... DO NOTHING`, partial unique indexes); `pg_suffix` adds what only PostgreSQL has
(`FOR UPDATE SKIP LOCKED`; on SQLite a write transaction already excludes every other writer).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Sql:
    text: str
    args: tuple[Any, ...] = ()
    rows: bool = False  # a query: its rows (tuples) are the result; otherwise the count changed
    pg_suffix: str = ""


Script = Generator[Sql, Any, T]

_PLACEHOLDER = re.compile(r"\?")


def pg_text(sql: Sql) -> str:
    counter = iter(range(1, 1000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql.text) + sql.pg_suffix


def on_sqlite(conn: sqlite3.Connection, script: Script[T]) -> T:
    result: Any = None
    try:
        while True:
            sql = script.send(result)
            cursor = conn.execute(sql.text, sql.args)
            result = cursor.fetchall() if sql.rows else cursor.rowcount
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def on_postgres(conn: Any, script: Script[T]) -> T:
    result: Any = None
    try:
        while True:
            sql = script.send(result)
            if sql.rows:
                result = [tuple(r) for r in await conn.fetch(pg_text(sql), *sql.args)]
            else:
                status = await conn.execute(pg_text(sql), *sql.args)
                result = int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else 0
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
