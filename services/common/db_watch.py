"""Replicas on one PostgreSQL: wake when another replica changes what this one serves.

`ChangeListener` keeps one connection of its own (not the pool's) LISTENing on a channel that the
service's migrations NOTIFY on, from a trigger, whenever a version row moves (the payload is the
schema, so replicas of another schema in the same database are not woken). On a notification it
runs `check` (the service reads its versions and, if they moved, refreshes and answers its
long-polls). A notification is delivered at the writer's commit, within about a millisecond here.

A notification cannot be missed for long: `check` also runs when the connection is (re)opened and
every `backstop_s` (a notification sent while the connection was down is lost; the backstop and
the reconnect cover it). The connection lost, it is opened again after `retry_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from services.common.db import mask_url, scrub
from services.common.loss_log import LossLog
from services.common.tasks import cancel_and_wait

log = structlog.get_logger("tollway.db")


class ChangeListener:
    def __init__(self, url: str, channel: str, check: Callable[[], Awaitable[Any]], *, service: str,
                 backstop_s: float = 5.0, retry_s: float = 1.0) -> None:
        self.url, self.channel, self.check, self.service = url, channel, check, service
        self.backstop_s, self.retry_s = backstop_s, retry_s
        self.notifications = 0
        self.checks = 0
        self._schema: str | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # reconnecting every retry_s: a line every 5 s at most
        self._lost = LossLog("replica_listener_lost", logger=log)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.service}-listen-{self.channel}")

    async def stop(self) -> None:
        self._stopping = True
        await cancel_and_wait(self._task)
        self._task = None

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if self._schema is None or payload == self._schema:
            self.notifications += 1
            self._wake.set()

    async def _check(self) -> None:
        self.checks += 1
        try:
            await self.check()
        except Exception as exc:  # the database gone for a moment: the next wake tries again
            log.warning("replica_check_failed", service=self.service, error=scrub(repr(exc), self.url))

    async def _run(self) -> None:
        import asyncpg

        while not self._stopping:
            conn = None
            try:
                conn = await asyncpg.connect(self.url, timeout=5)
                self._schema = await conn.fetchval("SELECT current_schema()")
                self._lost.reached()
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: (lost.set(), self._wake.set()))
                await conn.add_listener(self.channel, self._notified)
                self._wake.set()  # (re)connected: whatever was sent meanwhile is read now
                while not lost.is_set() and not self._stopping:
                    # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel that
                    # arrives as the wake does, and stop() would wait for ever
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.backstop_s):
                            await self._wake.wait()
                    self._wake.clear()
                    await self._check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._lost.failed(service=self.service, url=mask_url(self.url), error=scrub(repr(exc), self.url))
            finally:
                if conn is not None:
                    conn.terminate()  # a listening connection has nothing to finish
            await asyncio.sleep(self.retry_s)
