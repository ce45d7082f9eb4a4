"""POST /outcomes: gateways report what happened upstream (latency, success per attempt), in
batches; GET /outcomes/stats: the per-provider stats the registry snapshot publishes."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from services.common.clock import parse_utc
from services.common.http.app import contract_body
from services.common.http.body import read_json
from services.common.http.responses import JSONResponse
from services.common.outcome_window import Outcome
from services.router.context import router_context

router = APIRouter(tags=["outcomes"])


@router.post("/outcomes", openapi_extra=contract_body("outcome_batch"), status_code=202,
             summary="Report upstream outcomes (latency, success) for latency routing")
async def report_outcomes(request: Request) -> JSONResponse:
    ctx = router_context(request)
    body = await read_json(request, "outcome_batch")
    now = ctx.outcomes.now()
    batch = [Outcome(o["provider"], parse_utc(o["at"]).timestamp() if "at" in o else now,
                     float(o["latency_ms"]), bool(o["success"])) for o in body["outcomes"]]
    kept = ctx.outcomes.record(batch)
    if ctx.health is not None:
        ctx.health.observe_outcomes(batch)  # passive health: failed requests in a row take a provider out
    return JSONResponse({"received": len(batch), "kept": kept}, status_code=202)


@router.get("/outcomes/stats", summary="Observed P95, success rate and sample size per provider")
async def outcome_stats(request: Request) -> JSONResponse:
    ctx = router_context(request)
    return JSONResponse({"epoch": ctx.outcomes.epoch, "received": ctx.outcomes.received,
                         **ctx.outcomes.observed.to_json()})
