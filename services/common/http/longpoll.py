"""A version number that waiters can block on: the server side of snapshot long-polling.

The router (registry) and the ledger (budgets) bump it on every change; a follower asks for
`?after=<version>&wait=<s>` and is answered as soon as the version moves past it, or at the
deadline with the unchanged snapshot.
"""

from __future__ import annotations

import asyncio
import weakref

_signals: weakref.WeakSet[VersionSignal] = weakref.WeakSet()
MAX_WAIT_S = 60.0


def release_all_waiters() -> None:
    """Answer every held long-poll now: called when the server begins shutting down, so a
    graceful stop is not held up (or cut off with an error) by requests that would wait on."""
    for signal in list(_signals):
        signal.closing = True
        signal._changed.set()


class VersionSignal:
    def __init__(self, version: int = 0, max_wait_s: float = MAX_WAIT_S) -> None:
        self.version = version
        self.max_wait_s = max_wait_s  # the longest a long-poll is held, whatever `wait` it asks
        self.closing = False
        self._changed = asyncio.Event()
        _signals.add(self)

    def bump(self, to: int | None = None) -> int:
        self.version = self.version + 1 if to is None else max(to, self.version)
        self._changed.set()
        self._changed = asyncio.Event()
        return self.version

    async def answer_when_changed(self, after: int | None, wait: float) -> None:
        """The long-poll rule both snapshot endpoints follow: hold only when the caller already has
        the current version (`after`), for at most `wait` seconds (capped at `max_wait_s`,
        TOLLWAY_LONGPOLL_MAX_WAIT_S); any other `after` (older, or ahead after a reset) is answered
        at once."""
        if after is not None and after == self.version:
            await self.wait_past(after, min(wait, self.max_wait_s))

    async def wait_past(self, after: int, timeout: float) -> int:
        """Return once version > after, or after `timeout` seconds; the current version."""
        if self.version > after or timeout <= 0 or self.closing:
            return self.version
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        return self.version
