"""Several addresses of one service (router or ledger replicas) and which to call now.

The address that last answered is used until it fails; a failed one is skipped for a back-off
(doubling from `backoff_s` up to `max_backoff_s` while it keeps failing) and tried again after
it. When every address is backing off, the one whose back-off ends first is tried: a call is
never refused without an attempt. Shared by every channel to the service (snapshots, receipts,
leases, outcomes), so one channel's failure spares the others a wasted try.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import structlog

T = TypeVar("T")
log = structlog.get_logger("tollway.gateway.failover")


@dataclass
class _State:
    url: str
    failures: int = 0  # in a row
    dead_until: float = 0.0


class Addresses:
    def __init__(self, service: str, urls: Sequence[str], *, backoff_s: float = 0.5, max_backoff_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not urls:
            raise ValueError(f"no address for the {service}")
        self.service = service
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self.clock = clock
        self._states = [_State(url.rstrip("/")) for url in urls]
        self._current = 0  # index of the address that last answered (the first configured at start)

    @classmethod
    def of(cls, service: str, urls: Addresses | str | Sequence[str]) -> Addresses:
        """`urls` as Addresses: a list, or one string of comma-separated URLs."""
        if isinstance(urls, Addresses):
            return urls
        if isinstance(urls, str):
            urls = [u.strip() for u in urls.split(",") if u.strip()]
        return cls(service, urls)

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self._states]

    @property
    def current(self) -> str:
        return self._states[self._current].url

    def order(self) -> list[str]:
        """The addresses to try now, in order: the current one (unless backing off), then the
        others not backing off; if all are, only the one whose back-off ends first."""
        now = self.clock()
        n = len(self._states)
        ring = [self._states[(self._current + i) % n] for i in range(n)]
        live = [s.url for s in ring if s.dead_until <= now]
        return live or [min(ring, key=lambda s: s.dead_until).url]

    def failed(self, url: str, error: object = None) -> None:
        state = self._state(url)
        state.failures += 1
        # the exponent stops growing once the cap is reached: 2.0 ** n overflows a float past n = 1023,
        # which a ledger down for a minute under load reaches (one failure per request)
        doublings = min(state.failures - 1, 64)
        delay = min(self.backoff_s * 2.0 ** doublings, self.max_backoff_s)
        state.dead_until = self.clock() + delay
        if state.failures == 1 and len(self._states) > 1:
            log.warning("address_failed", service=self.service, url=url, retry_in_s=delay, error=repr(error))

    def succeeded(self, url: str) -> None:
        state = self._state(url)
        if state.failures and len(self._states) > 1:
            log.info("address_back", service=self.service, url=url, failures=state.failures)
        state.failures, state.dead_until = 0, 0.0
        self._current = self._states.index(state)

    def _state(self, url: str) -> _State:
        for state in self._states:
            if state.url == url:
                return state
        raise KeyError(url)


async def first_answer(addresses: Addresses, call: Callable[[str], Awaitable[T]],
                       retry_on: tuple[type[Exception], ...] = (Exception,)) -> T:
    """`call(url)` on each address in `addresses.order()` until one answers; what the last one
    raised when none does. An exception not in `retry_on` is an answer (raised at once)."""
    error: Exception | None = None
    for url in addresses.order():
        try:
            result = await call(url)
        except retry_on as exc:
            addresses.failed(url, exc)
            error = exc
            continue
        addresses.succeeded(url)
        return result
    assert error is not None
    raise error
