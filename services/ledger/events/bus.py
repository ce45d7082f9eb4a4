"""The ledger's event bus: every event published gets the next id and goes into a bounded ring;
`GET /events` readers follow the ring from the id they last saw.

Publishing is synchronous and O(1) (one `orjson.dumps`, one append, one wake-up): it is safe to
call from any code running on the ledger's event loop, e.g. a route after its store write or an
alert evaluator. Readers never slow a publisher: a reader that falls behind by more than the ring
is told so (`Gap`) rather than buffered for.

Ids are integers, strictly increasing, and start at the wall clock in microseconds when the bus is
made, so they keep increasing across a restart (the ring does not survive one: an id from before
it is a gap).

    ctx.events.publish("alert", {"rule_id": "r1", "state": "firing", ...}, tenant="org:acme")

`tenant` is whose event it is, in the form `services/ledger/access.py`'s `Reader.tenant` has
('org:<org>' or 'key:<key_id>'): a virtual key's reader sees an event only when the tenants are
equal; None means only readers who may see everything (the admin, or open reads) get it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

import orjson

from services.common.http.longpoll import VersionSignal

DEFAULT_RING = 4096


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    kind: str
    tenant: str | None
    data: bytes  # the payload's JSON

    def visible_to(self, tenant: str | None) -> bool:
        """`tenant` is the reader's: None reads everything."""
        return tenant is None or tenant == self.tenant


@dataclass(frozen=True, slots=True)
class Gap:
    """The reader's last id is not followed by anything in the ring: older than its oldest event,
    from before this process started, or ahead of the newest (another ledger's id)."""

    requested: int
    oldest: int | None  # the ring's oldest id (None: empty)
    latest: int  # the newest id published (the bus's start id when none was)


class EventBus:
    def __init__(self, ring_size: int = DEFAULT_RING, *, start_id: int | None = None) -> None:
        if ring_size < 1:
            raise ValueError("the event ring holds at least one event")
        self.start_id = time.time_ns() // 1000 if start_id is None else start_id
        self._ring: deque[Event] = deque(maxlen=ring_size)
        self.published = 0
        self.readers = 0  # streams open (services/ledger/events/sse.py)
        self.relay: Callable[[Event], None] | None = None  # to other ledgers (services/ledger/events/relay.py)
        self.signal = VersionSignal(self.start_id)  # its version is the newest id

    @property
    def latest_id(self) -> int:
        return self.signal.version

    @property
    def closing(self) -> bool:
        return self.signal.closing

    def publish(self, kind: str, payload: Mapping[str, Any] | bytes, tenant: str | None = None, *,
                relayed: bool = False) -> Event:
        """Add an event; `payload` is a JSON-able mapping, or JSON already encoded (bytes).
        `relayed`: it comes from another ledger (and is not sent back)."""
        data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        event = Event(self.signal.version + 1, kind, tenant, data)
        self._ring.append(event)
        self.published += 1
        self.signal.bump(to=event.id)
        if self.relay is not None and not relayed:
            self.relay(event)
        return event

    def after(self, last_id: int) -> list[Event] | Gap:
        """Every event after `last_id`, oldest first ([] when there is none yet), or the Gap."""
        latest = self.latest_id
        if last_id == latest:
            return []
        oldest = self._ring[0].id if self._ring else None
        if oldest is None or last_id > latest or last_id < oldest - 1:
            return Gap(last_id, oldest, latest)
        return list(islice(self._ring, last_id - oldest + 1, None))  # ids in the ring are contiguous

    async def wait_after(self, last_id: int, timeout: float) -> None:
        """Return once an event after `last_id` is published, the bus is closing, or `timeout` passed."""
        await self.signal.wait_past(last_id, timeout)
