"""`tollway db upgrade`: apply the ledger's and the router's schema migrations to
TOLLWAY_DATABASE_URL's PostgreSQL, or to their SQLite files when it is empty (the services also
apply them at start). One line per service says what was applied; any failure is exit 1."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
from pathlib import Path

from services.common.db import DatabaseUnavailable, is_postgres, mask_url, scrub
from services.common.migrations import MigrationSet, SchemaError
from services.common.settings import Settings
from services.ledger.store import migrations as ledger
from services.ledger.store.factory import UnsupportedDatabase, ledger_db_path
from services.router.store import migrations as router

SERVICES = ("ledger", "router")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="db_command", required=True)
    sub.add_parser("upgrade", help="apply the ledger's and the router's schema migrations not yet applied")
    fill = sub.add_parser("backfill-series", help="add the receipts booked before the analytics series to them")
    fill.add_argument("--batch", type=int, default=1000, help="receipts a transaction (1 ... 5000, default 1000)")


def _postgres_sets() -> dict[str, MigrationSet]:
    return {"ledger": ledger.SETS["postgres"], "router": router.POSTGRES}


def _sqlite_files(settings: Settings) -> dict[str, list[tuple[Path, MigrationSet]]]:
    router_dir = settings.service_dir("router")
    return {"ledger": [(Path(ledger_db_path(settings)), ledger.SETS["sqlite"])],
            "router": [(router_dir / f"{name}.db", router.SQLITE[name]) for name in router.SQLITE]}


async def _upgrade_postgres(url: str) -> dict[str, list[int]]:
    import asyncpg

    try:
        conn = await asyncpg.connect(url, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
        raise DatabaseUnavailable(f"cannot reach PostgreSQL at {mask_url(url)}: {type(exc).__name__}:"
                                  f" {scrub(str(exc), url)}") from None
    try:
        return {service: await sets.upgrade_postgres(conn) for service, sets in _postgres_sets().items()}
    finally:
        await conn.close()


def _upgrade_sqlite(path: Path, migrations: MigrationSet) -> list[int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        return migrations.upgrade_sqlite(conn)
    finally:
        conn.close()


def _done(applied: list[int], at: int) -> str:
    return f"{'applied ' + ', '.join(map(str, applied)) if applied else 'nothing to apply'}; at version {at}"


def upgrade(settings: Settings) -> int:
    url = settings.database_url
    lines = []
    try:
        if not url:
            for service, files in _sqlite_files(settings).items():
                for path, migrations in files:
                    applied = _upgrade_sqlite(path, migrations)
                    lines.append(f"{service} (SQLite {path}): {_done(applied, migrations.latest())}")
        elif is_postgres(url):
            for service, applied in asyncio.run(_upgrade_postgres(url)).items():
                at = _postgres_sets()[service].latest()
                lines.append(f"{service} (PostgreSQL {mask_url(url)}): {_done(applied, at)}")
        else:
            raise UnsupportedDatabase(f"TOLLWAY_DATABASE_URL names {url.partition(':')[0]}://...; the ledger and"
                                      " the router support only PostgreSQL (postgresql://...) or SQLite (empty)")
    except (DatabaseUnavailable, SchemaError, UnsupportedDatabase, sqlite3.Error) as exc:
        if lines:
            print("\n".join(lines), file=sys.stderr)
        print(f"tollway db upgrade: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0
