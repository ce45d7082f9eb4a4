"""POST /receipts (idempotent batch ingest), GET /receipts/{run_id} (a run's book) and
GET /receipts/by-id/{request_id} (one receipt, whatever its run)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from starlette.requests import Request

from services.common.errors import NotFound
from services.common.http.app import contract_body
from services.common.http.body import read_json
from services.common.http.responses import JSONResponse
from services.common.ids import require_safe_id
from services.common.money import from_micros
from services.common.tracing import otel
from services.ledger.access import reader
from services.ledger.budgets.alerts import announce
from services.ledger.context import ledger
from services.ledger.events.kinds import publish_ingest
from services.ledger.receipts.parse import parse_batch
from services.ledger.receipts.traces import traces_of

router = APIRouter(tags=["receipts"])
MAX_PAGE = 10_000


@router.post("/receipts", openapi_extra=contract_body("receipt_batch"))
async def post_receipts(request: Request) -> JSONResponse:
    ctx = ledger(request)
    body = await read_json(request, "receipt_batch", exact=True)
    now_us = ctx.now_us()
    batch = parse_batch(body["receipts"], now_us)  # the whole batch is checked before anything is written
    result = await ctx.ingest.ingest(batch, now_us)  # with the batches arriving meanwhile: one commit
    announce(result.events, ctx.on_threshold)
    publish_ingest(ctx.events, result.new, result.events)
    ctx.metrics.booked(result)
    if otel.enabled():  # the ingest's span links to the requests whose receipts it booked
        otel.link_traces(traces_of(result.new))
    return JSONResponse({"accepted": result.accepted, "duplicates": result.duplicates})


@router.get("/receipts/{run_id}")
async def get_receipts(request: Request, run_id: str,
                       limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
                       offset: Annotated[int, Query(ge=0, le=2**53)] = 0) -> JSONResponse:
    ctx = ledger(request)
    tenant = (await reader(request)).tenant  # a virtual key sees its own tenant's receipts only
    page = await ctx.store.run_receipts(require_safe_id(run_id, "run_id"), limit, offset, tenant)
    return JSONResponse({"run_id": run_id, "count": page.count,
                         "total_cost_usd": from_micros(page.spent_micros),
                         "receipts": [orjson.Fragment(b) for b in page.bodies]})


@router.get("/receipts/by-id/{request_id}")
async def get_receipt(request: Request, request_id: str) -> JSONResponse:
    """The receipt as booked; a virtual key finds its own tenant's only (another's is a 404, as if
    there were none, so that a tenant learns nothing of another's request ids)."""
    ctx = ledger(request)
    tenant = (await reader(request)).tenant
    body = await ctx.store.receipt(require_safe_id(request_id, "request_id"), tenant)
    if body is None:
        raise NotFound(f"no receipt {request_id}")
    return JSONResponse(orjson.Fragment(body))
