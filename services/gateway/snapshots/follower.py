"""Keeps a local copy of a remote snapshot fresh by long-polling `GET <url>?after=<v>&wait=<s>`.

Used for the router's registry and the ledger's budgets and keys. With several addresses of the
service (replicas) the poll moves to the next one as soon as one fails, and waits `retry_s` only
when none answers. The last good snapshot is kept on disk so a restart while the remote is down
still knows what it knew.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx
import structlog

from services.common import jsonio
from services.common.atomic_file import replace_file
from services.common.tasks import cancel_and_wait
from services.gateway.failover import Addresses, first_answer

T = TypeVar("T")
log = structlog.get_logger("tollway.gateway.snapshot")


class SnapshotFollower(Generic[T]):
    def __init__(self, name: str, addresses: Addresses | str, path: str, parse: Callable[[dict[str, Any]], T],
                 empty: T, *, cache_file: Path, wait_s: float, retry_s: float = 1.0) -> None:
        self.name = name
        self.addresses = Addresses.of(name, addresses)
        self.path = path
        self.parse = parse
        self.value: T = empty
        self.version = -1
        self.connected = False
        self.cache_file = cache_file
        self.wait_s = wait_s
        self.retry_s = retry_s
        self._task: asyncio.Task[None] | None = None
        self._first = asyncio.Event()
        self.on_change: Callable[[T, T], None] | None = None  # told (old, new) when a new version arrives
        self._load_cache()

    def _load_cache(self) -> None:
        try:
            data = jsonio.loads_exact(self.cache_file.read_bytes())
            self.value = self.parse(data)
            self.version = int(data["version"])
        except (OSError, ValueError, KeyError, TypeError):
            return
        except Exception as exc:  # a corrupt cache is not fatal: the remote is the truth
            log.warning("snapshot_cache_unreadable", snapshot=self.name, error=repr(exc))

    def _store_cache(self, raw: bytes) -> None:
        """Best effort: a snapshot that cannot be kept on disk is still applied."""
        try:
            replace_file(self.cache_file, raw)
        except OSError as exc:
            log.warning("snapshot_cache_not_written", snapshot=self.name, path=str(self.cache_file), error=repr(exc))

    def _apply(self, raw: bytes) -> None:
        data = jsonio.loads_exact(raw)
        version = int(data["version"])
        if version != self.version:
            old, self.value = self.value, self.parse(data)
            self.version = version
            log.info("snapshot_updated", snapshot=self.name, version=version)
            # what follows a change (a lowered cap revokes leases) happens before anything that
            # could fail on the way, and once: the version is taken
            if self.on_change is not None:
                try:
                    self.on_change(old, self.value)
                except Exception as exc:
                    log.error("snapshot_change_not_applied", snapshot=self.name, version=version, error=repr(exc))
            self._store_cache(raw)

    @property
    def url(self) -> str:
        """The snapshot's URL on the address followed now."""
        return self.addresses.current + self.path

    async def refresh(self, client: httpx.AsyncClient, wait: float = 0.0) -> None:
        """One poll, on the first address that answers (a long wait only on the one that answered last)."""

        async def poll(base: str) -> bytes:
            held = wait if base == self.addresses.current else 0.0
            params: dict[str, Any] = {"wait": held}
            if self.version >= 0 and held > 0:
                params["after"] = self.version
            resp = await client.get(base + self.path, params=params, timeout=held + 10.0)
            resp.raise_for_status()
            return resp.content

        self._apply(await first_answer(self.addresses, poll))
        self.connected = True
        self._first.set()

    async def _run(self, client: httpx.AsyncClient) -> None:
        while True:
            try:
                await self.refresh(client, wait=self.wait_s if self.connected else 0.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.connected:
                    log.warning("snapshot_unreachable", snapshot=self.name, urls=self.addresses.urls, error=repr(exc))
                self.connected = False
                await asyncio.sleep(self.retry_s)

    def start(self, client: httpx.AsyncClient) -> None:
        self._task = asyncio.create_task(self._run(client), name=f"follow-{self.name}")

    async def wait_first(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._first.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
