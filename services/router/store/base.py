"""The registry store interface: providers by name, soft deletes, and a persisted version
that moves on every change (what the snapshot long-poll watches)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from services.common.registry.provider import Provider


class RegistryStore(Protocol):
    def open(self) -> None:
        """Create or connect to the storage; called once when the service starts."""

    def close(self) -> None: ...

    def get(self, name: str) -> Provider | None:
        """The provider named `name`, active or not; None if it was never registered."""

    def upsert(self, provider: Provider) -> int:
        """Insert or replace `provider`; bump the version and return it."""

    def set_active(self, name: str, active: bool, now: datetime) -> Provider | None:
        """Turn a provider on or off (soft delete); bumps the version only when it changes.
        None if no provider has that name."""

    def list(self, include_inactive: bool = False) -> list[Provider]:
        """Providers ordered by name; only the active ones unless asked."""

    def version(self) -> int:
        """The registry version: 0 when empty and never changed, +1 on every change."""
