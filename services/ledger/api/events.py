"""GET /events: the ledger's live events as Server-Sent Events (services/ledger/events/sse.py).

`Last-Event-ID` (or `?last_event_id=`) resumes after that id; `?kinds=receipt,budget_threshold`
keeps only those kinds. A virtual key reads its own tenant's events only; the admin key (and open
reads, without TOLLWAY_REQUIRE_KEYS) reads every event."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import StreamingResponse

from services.common.errors import InvalidRequest
from services.ledger.access import reader
from services.ledger.context import ledger
from services.ledger.events import sse
from services.ledger.events.kinds import ALERT, BUDGET_THRESHOLD, RECEIPT

router = APIRouter(tags=["events"])
KINDS = (RECEIPT, BUDGET_THRESHOLD, ALERT)


# not in the OpenAPI document: an endless text/event-stream has no JSON answer to describe (and a
# fuzzer would wait on it for ever); docs/observability.md describes it
@router.get("/events", include_in_schema=False)
async def get_events(request: Request, kinds: str | None = None, last_event_id: str | None = None) -> StreamingResponse:
    ctx = ledger(request)
    tenant = (await reader(request)).tenant
    wanted = _kinds(kinds)
    last = sse.parse_last_event_id(request.headers.get("last-event-id") or last_event_id)
    body = sse.stream(ctx.events, tenant=tenant, kinds=wanted, last_id=last,
                      heartbeat_s=ctx.settings.events_heartbeat_s)
    return StreamingResponse(body, media_type="text/event-stream",
                             headers={"cache-control": "no-cache", "x-accel-buffering": "no"})


def _kinds(value: str | None) -> frozenset[str] | None:
    if value is None or not value.strip():
        return None
    asked = frozenset(k.strip() for k in value.split(",") if k.strip())
    unknown = sorted(asked - set(KINDS))
    if unknown:
        raise InvalidRequest(f"unknown event kind {unknown[0]!r}: kinds are {', '.join(KINDS)}", field="kinds")
    return asked
