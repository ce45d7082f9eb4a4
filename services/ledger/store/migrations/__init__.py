"""The ledger's versioned schema migrations: `sqlite/` and `postgres/` folders of `NNNN_name.sql`
files, recorded in `schema_version`, applied by the one runner of every service
(services/common/migrations.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from services.common.migrations import Migration, MigrationSet, SchemaError, statements
from services.ledger.store.sqlite.sketch_sql import install as sketch_functions

Backend = Literal["sqlite", "postgres"]
HERE = Path(__file__).parent
# two ledgers starting at once on one PostgreSQL: the second waits for the first's migrations
PG_LOCK = 0x746F6C6C  # 'toll'
SETS: dict[str, MigrationSet] = {
    "sqlite": MigrationSet(HERE / "sqlite", "schema_version", "ledger", "ledger", PG_LOCK,
                           sqlite_functions=sketch_functions),  # 0009 merges sketches with them
    "postgres": MigrationSet(HERE / "postgres", "schema_version", "ledger", "ledger", PG_LOCK)}

__all__ = ["Migration", "SchemaError", "latest", "migrations", "sqlite_version", "statements", "upgrade_postgres",
           "upgrade_sqlite"]


def migrations(backend: Backend) -> list[Migration]:
    return SETS[backend].migrations()


def latest(backend: Backend) -> int:
    return SETS[backend].latest()


upgrade_sqlite = SETS["sqlite"].upgrade_sqlite
sqlite_version = SETS["sqlite"].sqlite_version
upgrade_postgres = SETS["postgres"].upgrade_postgres
