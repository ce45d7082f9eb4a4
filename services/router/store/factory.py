"""Choosing the router's stores from settings: an empty `database_url` means the SQLite files
under `<artifacts_dir>/router/` (registry.db, routing.db, outcomes.db); `postgresql://...` (or
`postgres://...`) the PostgreSQL database it names, shared by every router replica."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.common.db import is_postgres, scheme
from services.common.settings import Settings
from services.router.store.base import OutcomeLog, RegistryStore, RoutingStore
from services.router.store.outcomes_sqlite import SqliteOutcomeLog
from services.router.store.routing_sqlite import SqliteRoutingStore
from services.router.store.sqlite import SqliteRegistryStore


class UnsupportedDatabase(RuntimeError):
    """`TOLLWAY_DATABASE_URL` names a backend the router cannot use."""


@dataclass
class RouterStores:
    registry: RegistryStore
    routing: RoutingStore
    outcomes: OutcomeLog
    url: str = ""  # the PostgreSQL URL the three share ('' for SQLite: nothing to listen to)


def registry_path(settings: Settings) -> Path:
    return settings.service_dir("router") / "registry.db"


def check_url(settings: Settings) -> None:
    url = settings.database_url
    if url and not is_postgres(url):
        raise UnsupportedDatabase(  # the rest of the URL may hold a password: never echo it
            f"TOLLWAY_DATABASE_URL is set ({scheme(url)}://...) but the router supports only PostgreSQL"
            f" (postgresql://...) or SQLite (leave it empty to keep the registry in {registry_path(settings)})")


def make_store(settings: Settings) -> RegistryStore:
    """The registry store alone (the routing and outcome stores come with make_stores)."""
    return make_stores(settings).registry


def make_stores(settings: Settings, registry: RegistryStore | None = None) -> RouterStores:
    check_url(settings)
    url = settings.database_url
    if url:
        from services.router.store.postgres import PgOutcomeLog, PgRegistryStore, PgRouterDatabase, PgRoutingStore

        db = PgRouterDatabase(url)
        return RouterStores(registry or PgRegistryStore(db), PgRoutingStore(db), PgOutcomeLog(db), url=url)
    router_dir = settings.service_dir("router")
    return RouterStores(registry or SqliteRegistryStore(registry_path(settings)),
                        SqliteRoutingStore(router_dir / "routing.db"), SqliteOutcomeLog(router_dir / "outcomes.db"))
