"""`tollway db upgrade`: apply the ledger's schema migrations to TOLLWAY_DATABASE_URL's PostgreSQL,
or to the SQLite file when it is empty (the services also apply them at start)."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys

from services.common.db import DatabaseUnavailable, is_postgres, mask_url, scrub
from services.common.settings import Settings
from services.ledger.store.factory import UnsupportedDatabase, ledger_db_path
from services.ledger.store.migrations import SchemaError, latest, upgrade_postgres, upgrade_sqlite


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="db_command", required=True)
    sub.add_parser("upgrade", help="apply the ledger's schema migrations not yet applied")


async def _upgrade_postgres(url: str) -> list[int]:
    import asyncpg

    try:
        conn = await asyncpg.connect(url, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
        raise DatabaseUnavailable(f"cannot reach PostgreSQL at {mask_url(url)}: {type(exc).__name__}:"
                                  f" {scrub(str(exc), url)}") from None
    try:
        return await upgrade_postgres(conn)
    finally:
        await conn.close()


def upgrade(settings: Settings) -> int:
    url = settings.database_url
    try:
        if not url:
            path = ledger_db_path(settings)
            settings.service_dir("ledger").mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, isolation_level=None)
            try:
                applied, where, backend = upgrade_sqlite(conn), f"SQLite {path}", "sqlite"
            finally:
                conn.close()
        elif is_postgres(url):
            applied, where, backend = asyncio.run(_upgrade_postgres(url)), f"PostgreSQL {mask_url(url)}", "postgres"
        else:
            raise UnsupportedDatabase(f"TOLLWAY_DATABASE_URL names {url.partition(':')[0]}://...; the ledger"
                                      " supports only PostgreSQL (postgresql://...) or SQLite (empty)")
    except (DatabaseUnavailable, SchemaError, UnsupportedDatabase, sqlite3.Error) as exc:
        print(f"tollway db upgrade: {exc}", file=sys.stderr)
        return 1
    done = f"applied {', '.join(map(str, applied))}" if applied else "nothing to apply"
    print(f"ledger ({where}): {done}; at version {latest(backend)}")  # type: ignore[arg-type]
    return 0
