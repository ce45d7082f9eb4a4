"""Choosing the store backend from settings: empty `database_url` means the SQLite file."""

from __future__ import annotations

from services.common.settings import Settings
from services.ledger.store.base import LedgerStore
from services.ledger.store.sqlite.store import SqliteLedgerStore


class UnsupportedDatabase(RuntimeError):
    """`TOLLWAY_DATABASE_URL` names a backend the ledger cannot use yet."""


def ledger_db_path(settings: Settings) -> str:
    return str(settings.service_dir("ledger") / "ledger.db")


def make_store(settings: Settings) -> LedgerStore:
    if settings.database_url:
        scheme = settings.database_url.split(":", 1)[0]  # never echo credentials
        raise UnsupportedDatabase(
            f"TOLLWAY_DATABASE_URL is set ({scheme}://...) but the ledger supports only SQLite"
            f" for now; unset it to keep the ledger in {ledger_db_path(settings)}")
    return SqliteLedgerStore(settings.service_dir("ledger") / "ledger.db", synchronous=settings.sqlite_synchronous)
