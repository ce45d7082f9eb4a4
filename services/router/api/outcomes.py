"""POST /outcomes: gateways report what happened upstream (latency, success per attempt), in
batches; GET /outcomes/stats: the per-provider stats the registry snapshot publishes.

POST /outcomes is also served by the app's hot path (`HOT_ROUTES`, ahead of FastAPI's routing,
inside the admin guard): the route here documents it at /docs and serves it without the hot path.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from services.common.http.app import contract_body
from services.common.http.body import read_object
from services.common.http.hot_path import Endpoint
from services.common.http.responses import JSONResponse
from services.router.context import router_context
from services.router.outcomes.intake import read_batch

router = APIRouter(tags=["outcomes"])


@router.post("/outcomes", openapi_extra=contract_body("outcome_batch"), status_code=202,
             summary="Report upstream outcomes (latency, success) for latency routing")
async def report_outcomes(request: Request) -> JSONResponse:
    ctx = router_context(request)
    batch = read_batch(await read_object(request), ctx.outcomes.now())  # a 400 naming the field when invalid
    kept = await ctx.outcomes.record(batch)
    if ctx.health is not None:
        await ctx.health.observe_outcomes(batch)  # passive health: failed requests in a row take a provider out
    return JSONResponse({"received": len(batch), "kept": kept}, status_code=202)


@router.get("/outcomes/stats", summary="Observed P95, success rate and sample size per provider")
async def outcome_stats(request: Request) -> JSONResponse:
    ctx = router_context(request)
    return JSONResponse({"epoch": ctx.outcomes.epoch, "received": ctx.outcomes.received,
                         **ctx.outcomes.observed.to_json()})


HOT_ROUTES: dict[tuple[str, str], Endpoint] = {("POST", "/outcomes"): report_outcomes}
