"""The ledger's SQLite tables: created and upgraded by the versioned migrations in
services/ledger/store/migrations/sqlite/. Money is INTEGER microdollars, time INTEGER epoch microseconds."""

from __future__ import annotations

import sqlite3

from services.ledger.store.migrations import upgrade_sqlite


def create(conn: sqlite3.Connection) -> None:
    upgrade_sqlite(conn)
