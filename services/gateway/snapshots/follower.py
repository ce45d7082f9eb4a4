"""Keeps a local copy of a remote snapshot fresh by long-polling `GET <url>?after=<v>&wait=<s>`.

Used for the router's registry and the ledger's budgeted runs. The last good snapshot is kept
on disk so a restart while the remote is down still knows what it knew.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx
import structlog

from services.common import jsonio
from services.common.tasks import cancel_and_wait

T = TypeVar("T")
log = structlog.get_logger("tollway.gateway.snapshot")


class SnapshotFollower(Generic[T]):
    def __init__(self, name: str, url: str, parse: Callable[[dict[str, Any]], T], empty: T, *,
                 cache_file: Path, wait_s: float, retry_s: float = 1.0) -> None:
        self.name = name
        self.url = url
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
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_file.with_suffix(".tmp")
        tmp.write_bytes(raw)
        os.replace(tmp, self.cache_file)

    def _apply(self, raw: bytes) -> None:
        data = jsonio.loads_exact(raw)
        version = int(data["version"])
        if version != self.version:
            old, self.value = self.value, self.parse(data)
            self.version = version
            self._store_cache(raw)
            log.info("snapshot_updated", snapshot=self.name, version=version)
            if self.on_change is not None:
                self.on_change(old, self.value)

    async def refresh(self, client: httpx.AsyncClient, wait: float = 0.0) -> None:
        params: dict[str, Any] = {"wait": wait}
        if self.version >= 0 and wait > 0:
            params["after"] = self.version
        resp = await client.get(self.url, params=params, timeout=wait + 10.0)
        resp.raise_for_status()
        self._apply(resp.content)
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
                    log.warning("snapshot_unreachable", snapshot=self.name, url=self.url, error=repr(exc))
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
