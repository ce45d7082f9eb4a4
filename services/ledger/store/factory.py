"""Choosing the store backend from settings: an empty `database_url` means the SQLite file;
`postgresql://...` (or `postgres://...`) the PostgreSQL database it names."""

from __future__ import annotations

from services.common.db import is_postgres, scheme
from services.common.settings import Settings
from services.ledger.store.base import LedgerStore
from services.ledger.store.sqlite.store import SqliteLedgerStore


class UnsupportedDatabase(RuntimeError):
    """`TOLLWAY_DATABASE_URL` names a backend the ledger cannot use."""


def ledger_db_path(settings: Settings) -> str:
    return str(settings.service_dir("ledger") / "ledger.db")


def make_store(settings: Settings) -> LedgerStore:
    url = settings.database_url
    if not url:
        return SqliteLedgerStore(settings.service_dir("ledger") / "ledger.db",
                                 synchronous=settings.sqlite_synchronous)
    if is_postgres(url):
        from services.ledger.store.postgres.store import PostgresLedgerStore

        return PostgresLedgerStore(url)
    raise UnsupportedDatabase(  # the rest of the URL may hold a password: never echo it
        f"TOLLWAY_DATABASE_URL is set ({scheme(url)}://...) but the ledger supports only PostgreSQL"
        f" (postgresql://...) or SQLite (leave it empty to keep the ledger in {ledger_db_path(settings)})")
