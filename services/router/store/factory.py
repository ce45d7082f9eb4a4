"""Choosing the registry backend from settings: an empty `database_url` means the SQLite file
`<artifacts_dir>/router/registry.db`."""

from __future__ import annotations

from pathlib import Path

from services.common.settings import Settings
from services.router.store.base import RegistryStore
from services.router.store.sqlite import SqliteRegistryStore


class UnsupportedDatabase(RuntimeError):
    """`TOLLWAY_DATABASE_URL` names a backend the router cannot use yet."""


def registry_path(settings: Settings) -> Path:
    return settings.service_dir("router") / "registry.db"


def make_store(settings: Settings) -> RegistryStore:
    if not settings.database_url:
        return SqliteRegistryStore(registry_path(settings))
    scheme = settings.database_url.partition(":")[0]  # the rest may hold a password: never echo it
    raise UnsupportedDatabase(
        f"the router's registry does not support TOLLWAY_DATABASE_URL={scheme}://... yet; "
        f"unset it to keep the registry in SQLite at {registry_path(settings)}")
