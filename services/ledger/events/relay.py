"""Several ledgers on one PostgreSQL: each one's events reach the others' `GET /events` readers.

A ledger publishes what it raised itself (the receipts it ingested, the thresholds they crossed,
the budgets set through it, its alerts); the relay sends each event once more as a PostgreSQL
NOTIFY on `tollway_events` (several per notification, each notification under PostgreSQL's 8000
byte limit), from one connection of its own, off the request path. Every other ledger on the
same schema LISTENs there and publishes what it hears on its own bus, with its own ids: ids are
per ledger, so a reader resumes on the ledger it read from (another's id is a `reset`).

Best effort, as the ring is: a notification sent while a listener's connection is down is lost
to it (it reconnects after `retry_s`); an event too large for one notification (a receipt over
~7.5 KB) is not relayed, and is counted (`not_relayed`). A reader who must not miss anything
reads the REST API after a `reset`.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import orjson
import structlog

from services.common import jsonio
from services.common.db import mask_url, scrub
from services.common.errors import InvalidRequest
from services.common.tasks import cancel_and_wait
from services.ledger.events.bus import Event, EventBus

log = structlog.get_logger("tollway.ledger.events")

CHANNEL = "tollway_events"
MAX_PAYLOAD = 7500  # bytes of one NOTIFY payload (PostgreSQL refuses 8000 and more)
QUEUE = 10_000  # events waiting to be sent; beyond it they are dropped (counted)


class PgEventRelay:
    def __init__(self, url: str, bus: EventBus, *, retry_s: float = 1.0) -> None:
        self.url, self.bus, self.retry_s = url, bus, retry_s
        self.origin = uuid.uuid4().hex  # this ledger: what it hears from itself it ignores
        self.sent = self.received = self.not_relayed = 0
        self._queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE)
        self._schema: str | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.bus.relay = self.offer
        self._task = asyncio.create_task(self._run(), name="ledger-events-relay")

    async def stop(self) -> None:
        self.bus.relay = None
        await cancel_and_wait(self._task)
        self._task = None

    def offer(self, event: Event) -> None:
        """Called by the bus for every event published here (not for relayed ones)."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.not_relayed += 1

    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = jsonio.loads_exact(payload)  # money stays as it was written
            if message.get("origin") == self.origin or message.get("schema") != self._schema:
                return
            for kind, tenant, data in message.get("events", []):
                self.received += 1
                self.bus.publish(kind, jsonio.dumps(data), tenant, relayed=True)
        except (InvalidRequest, AttributeError, TypeError, ValueError):  # not one of ours
            return

    async def _run(self) -> None:
        import asyncpg

        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self.url, timeout=5)
                self._schema = await conn.fetchval("SELECT current_schema()")
                await conn.add_listener(CHANNEL, self._heard)
                while True:
                    for payload in self._payloads(await self._drain()):
                        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("events_relay_lost", url=mask_url(self.url), error=scrub(repr(exc), self.url))
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.terminate()
            await asyncio.sleep(self.retry_s)

    async def _drain(self) -> list[Event]:
        events = [await self._queue.get()]
        while not self._queue.empty() and len(events) < 1000:
            events.append(self._queue.get_nowait())
        return events

    def _payloads(self, events: list[Event]) -> list[str]:
        """The events packed into as few notifications as fit, in order."""
        head = b'{"origin":"%s","schema":%s,"events":[' % (self.origin.encode(), orjson.dumps(self._schema))
        payloads: list[str] = []
        parts: list[bytes] = []
        size = len(head) + 2
        packed = 0
        for event in events:
            part = b"[%s,%s,%s]" % (orjson.dumps(event.kind), orjson.dumps(event.tenant), event.data)
            if len(head) + len(part) + 2 > MAX_PAYLOAD:
                self.not_relayed += 1
                continue
            if size + len(part) + 1 > MAX_PAYLOAD:
                payloads.append((head + b",".join(parts) + b"]}").decode())
                parts, size = [], len(head) + 2
            parts.append(part)
            size += len(part) + 1
            packed += 1
        if parts:
            payloads.append((head + b",".join(parts) + b"]}").decode())
        self.sent += packed
        return payloads
