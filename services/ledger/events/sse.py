"""Server-Sent Events framing of the bus, and one reader's stream.

A stream starts with a `retry:` hint and a comment, then sends every event after the reader's
`Last-Event-ID` (or, without one, every event published from now on) that the reader may see and
asked for, as `id:`/`event:`/`data:` frames, and a `: heartbeat` comment (with an `id:` and no data) when
nothing was sent for `heartbeat_s`. When the reader's last id cannot be followed (older than the ring, from before a
restart, or from another ledger), it gets one `reset` event (its id the newest, so a reconnect
resumes from there) and then the live events: what it missed must be read again through the REST
API. The stream ends when the server shuts down.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Collection

import orjson

from services.ledger.events.bus import Event, EventBus, Gap
from services.ledger.events.kinds import RESET

RETRY_MS = 2000
OPENING = b"retry: %d\n: tollway ledger events\n\n" % RETRY_MS


def heartbeat(cursor: int) -> bytes:
    """A comment, and the id of the newest event this reader has been past (seen or not its to
    see), with no data: it moves the reader's Last-Event-ID without dispatching an event, so a
    tenant's reader on a busy ledger resumes from here rather than from the ring's far end."""
    return b": heartbeat\nid: %d\n\n" % cursor


def frame(event_id: int, kind: str, data: bytes) -> bytes:
    """One SSE event; a payload with line breaks is split over several `data:` lines."""
    lines = b"".join(b"data: " + line + b"\n" for line in data.splitlines() or [b""])
    return b"id: %d\nevent: %s\n%s\n" % (event_id, kind.encode(), lines)


def reset_frame(gap: Gap) -> bytes:
    body = orjson.dumps({"reason": "unknown_last_event_id", "last_event_id": gap.requested,
                         "oldest_event_id": gap.oldest, "latest_event_id": gap.latest})
    return frame(gap.latest, RESET, body)


def parse_last_event_id(value: str | None) -> int | None:
    """The `Last-Event-ID` header (or `?last_event_id=`): an id we could have sent, else None
    (a value that is no integer is a reader who has seen nothing we know of: it gets a reset)."""
    if value is None or not value.strip():
        return None
    try:
        return int(value.strip())
    except ValueError:
        return -1


async def stream(bus: EventBus, *, tenant: str | None, kinds: Collection[str] | None,
                 last_id: int | None, heartbeat_s: float) -> AsyncIterator[bytes]:
    """`tenant`: the reader's (None sees everything); `kinds`: only these (None: all)."""
    cursor = bus.latest_id if last_id is None else last_id  # before the opening: nothing slips past
    bus.readers += 1
    try:
        yield OPENING
        quiet_since = time.monotonic()
        while not bus.closing:
            found = bus.after(cursor)
            if isinstance(found, Gap):
                cursor = found.latest
                quiet_since = time.monotonic()
                yield reset_frame(found)
                continue
            if found:
                chunk = b"".join(frame(e.id, e.kind, e.data) for e in found if _wanted(e, tenant, kinds))
                cursor = found[-1].id
                if chunk:
                    quiet_since = time.monotonic()
                    yield chunk
                continue
            # a heartbeat when this reader was sent nothing for heartbeat_s, however busy the bus is
            left = heartbeat_s - (time.monotonic() - quiet_since)
            if left <= 0:
                quiet_since = time.monotonic()
                yield heartbeat(cursor)
                continue
            await bus.wait_after(cursor, left)
    finally:
        bus.readers -= 1


def _wanted(event: Event, tenant: str | None, kinds: Collection[str] | None) -> bool:
    return event.visible_to(tenant) and (kinds is None or event.kind in kinds)
