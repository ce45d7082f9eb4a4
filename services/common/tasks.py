"""Background tasks: stopping one and waiting until it has really stopped, and a loop that runs a
round of work every so often for as long as the service runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog


async def cancel_and_wait(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


class BackgroundLoop:
    """Runs `round()` in a task of its own, waiting `every_s` between rounds (before the first too
    with `wait_first`), or less when `wake()` is called. A round that raises is logged as
    `failed_event` (with the error) and the loop goes on; `stop()` cancels the round or the wait in
    progress and returns once the task has ended."""

    def __init__(self, name: str, round: Callable[[], Awaitable[Any]], every_s: float | Callable[[], float], *,
                 failed_event: str, logger: Any = None, wait_first: bool = False) -> None:
        self.name, self.round, self.failed_event, self.wait_first = name, round, failed_event, wait_first
        self._every_s = every_s if callable(every_s) else (lambda: every_s)
        self.log = logger or structlog.get_logger("tollway.tasks")
        self.rounds = 0  # begun
        self.failures = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._run(), name=self.name)

    def wake(self) -> None:
        """Begin the next round now (or as soon as the one in progress ends)."""
        self._wake.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        if self.wait_first:
            await self._pause()
        while True:
            self._wake.clear()  # a wake-up from here on (during the round) is another round
            self.rounds += 1
            try:
                await self.round()
            except Exception as exc:  # a bad round (a database away) must not end the loop
                self.failures += 1
                self.log.warning(self.failed_event, error=f"{type(exc).__name__}: {exc}", exc_info=True)
            await self._pause()

    async def _pause(self) -> None:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that lands as the
        # wake-up does, and stop() would then wait for a loop that never ends
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._every_s()):
                await self._wake.wait()
