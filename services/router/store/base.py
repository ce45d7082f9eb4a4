"""The router's store interfaces, one per store, each with a SQLite and a PostgreSQL
implementation (`sqlite.py`, `routing_sqlite.py`, `outcomes_sqlite.py`; `postgres.py`). Every
method is a coroutine: the SQLite ones run on the file's worker thread, the PostgreSQL ones on an
asyncpg pool; none blocks the event loop.

- `RegistryStore`: providers by name, soft deletes, and a persisted version that moves on every
  change (what the snapshot long-poll watches).
- `RoutingStore`: the routing configuration's entries and its version.
- `OutcomeLog`: the outcome reports (one row per posted batch) and the stats epoch."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from services.common.outcome_window import Outcome
from services.common.registry.provider import Provider

Entry = tuple[str, str, Any]  # a routing entry: (kind, name, body)


class RegistryStore(Protocol):
    async def open(self) -> None:
        """Create or connect to the storage (applying the migrations); called once at start."""

    async def close(self) -> None: ...

    async def get(self, name: str) -> Provider | None:
        """The provider named `name`, active or not; None if it was never registered."""

    async def upsert(self, provider: Provider) -> int:
        """Insert or replace `provider`; bump the version and return it."""

    async def set_active(self, name: str, active: bool, now: datetime) -> Provider | None:
        """Turn a provider on or off (soft delete); bumps the version only when it changes.
        None if no provider has that name."""

    async def list(self, include_inactive: bool = False) -> list[Provider]:
        """Providers ordered by name; only the active ones unless asked."""

    async def version(self) -> int:
        """The registry version: 0 when empty and never changed, +1 on every change."""


class RoutingStore(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def config(self) -> dict[str, Any]:
        """The whole configuration as a routing_config body, with its version."""

    async def get(self, kind: str, name: str) -> Any | None: ...

    async def put(self, kind: str, name: str, body: Any) -> int: ...

    async def put_checked(self, kind: str, name: str, body: Any,
                          check: Callable[[dict[str, Any]], None]) -> tuple[int, bool]:
        """Put one entry once `check(config)` passes on the configuration as it stands, in the same
        transaction with the routing version locked: two PUTs (through one router or several) take
        turns, the second checked against the first. `check` raises to refuse; then nothing is
        written. (The version after, whether the entry is new.)"""

    async def put_many(self, rows: Iterable[Entry]) -> int:
        """Upsert entries; one version bump if any changed. The version after."""

    async def delete(self, kind: str, name: str) -> int | None:
        """Remove one entry: the new version, or None if there was no such entry."""

    async def replace(self, rows: Iterable[Entry]) -> int:
        """The configuration becomes exactly `rows`; the version moves once."""

    async def version(self) -> int: ...


class OutcomeLog(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def append(self, outcomes: Sequence[Outcome]) -> None:
        """One batch, one row, one transaction (nothing for an empty batch)."""

    async def since(self, horizon: float) -> list[Outcome]:
        """Every outcome at or after `horizon`, in time order (arrival order among equal times)."""

    async def prune(self, horizon: float) -> int:
        """Drop the batches whose every outcome is older than `horizon`; how many."""

    async def epoch(self) -> int: ...

    async def bump_epoch(self) -> int:
        """The stats epoch + 1 (shared by every router on one database: it never goes back)."""
