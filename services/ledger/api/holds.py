"""Holds, the hard cap: POST /holds, POST /holds/{hold_id}/settle, DELETE /holds/{hold_id}."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from services.common.errors import Conflict, NotFound
from services.common.http.app import contract_body
from services.common.http.body import read_json
from services.common.http.responses import JSONResponse
from services.common.ids import require_safe_id
from services.common.money import from_micros
from services.common.tracing import otel
from services.ledger.amounts import micros_of
from services.ledger.budgets.alerts import announce
from services.ledger.budgets.holds import HoldOutcome, refusal
from services.ledger.budgets.model import BudgetKey
from services.ledger.budgets.status import status_body
from services.ledger.context import ledger
from services.ledger.events.kinds import publish_ingest
from services.ledger.receipts.parse import parse_receipt
from services.ledger.receipts.traces import traces_of
from services.ledger.times import US_PER_S, iso

router = APIRouter(tags=["holds"])


def _answer(hold_id: str, amount_micros: int, outcome: HoldOutcome) -> JSONResponse:
    hold, state = outcome.hold, outcome.state
    if outcome.kind == "refused" and state is not None:
        raise refusal(state, amount_micros)
    if outcome.kind == "settled":
        raise Conflict(f"hold {hold_id}: request {hold_id} already has a receipt", field="hold_id")
    if outcome.kind == "conflict" and hold is not None:
        raise Conflict(f"hold {hold_id} already exists for {hold.key.scope} {hold.key.scope_id}"
                       f" with ${from_micros(hold.amount_micros)}", field="hold_id")
    if hold is None:  # the run has no budget: nothing to reserve
        return JSONResponse({"hold_id": hold_id, "held": False})
    body = {"hold_id": hold_id, "held": True, "amount_usd": from_micros(hold.amount_micros),
            "expires_at": iso(hold.expires_us)}
    if state is not None:
        body["budget"] = status_body(state)
    return JSONResponse(body, status_code=201 if outcome.kind == "held" else 200)


@router.post("/holds", openapi_extra=contract_body("hold_request"))
async def post_hold(request: Request) -> JSONResponse:
    ctx = ledger(request)
    body = await read_json(request, "hold_request", exact=True)
    hold_id, run_id = require_safe_id(body["hold_id"], "hold_id"), require_safe_id(body["run_id"], "run_id")
    amount = micros_of(body["amount_usd"], "amount_usd")
    outcome = await ctx.store.place_hold(hold_id, BudgetKey.run(run_id), amount, ctx.now_us(),
                                         int(ctx.settings.hold_ttl_s * US_PER_S))
    return _answer(hold_id, amount, outcome)


@router.post("/holds/{hold_id}/settle", openapi_extra=contract_body("routing_receipt"))
async def settle_hold(request: Request, hold_id: str) -> JSONResponse:
    ctx = ledger(request)
    require_safe_id(hold_id, "hold_id")
    now_us = ctx.now_us()
    receipt = parse_receipt(await read_json(request, "routing_receipt", exact=True), now_us=now_us)
    result = await ctx.store.settle(hold_id, receipt, now_us)
    announce(result.ingest.events, ctx.on_threshold)
    publish_ingest(ctx.events, result.ingest.new, result.ingest.events)
    ctx.metrics.booked(result.ingest)
    if otel.enabled():  # the ingest's span links to the requests whose receipts it booked
        otel.link_traces(traces_of(result.ingest.new))
    if result.state is None:
        return JSONResponse({"budgeted": False})
    return JSONResponse(status_body(result.state))


@router.delete("/holds/{hold_id}")
async def release_hold(request: Request, hold_id: str) -> JSONResponse:
    ctx = ledger(request)
    if not await ctx.store.release_hold(require_safe_id(hold_id, "hold_id"), ctx.now_us()):
        raise NotFound(f"no hold {hold_id} (unknown, settled or expired)")
    return JSONResponse({"hold_id": hold_id, "released": True})
