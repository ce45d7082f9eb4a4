"""POST /select: which active provider should serve a request, by which strategy, why, and who
else could; with the router's routing configuration and observed stats."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from services.common.http.app import contract_body
from services.common.http.body import read_json
from services.common.http.responses import JSONResponse
from services.common.selection.decide import select
from services.common.selection.request import SelectionRequest
from services.router.context import router_context

router = APIRouter(tags=["selection"])


@router.post("/select", openapi_extra=contract_body("selection_request"),
             summary="Choose a provider by a strategy (cost, latency, balanced, ...) and explain the choice")
async def select_provider(request: Request) -> JSONResponse:
    ctx = router_context(request)
    body = await read_json(request, "selection_request")
    wanted = SelectionRequest.from_json(body)
    catalog, unhealthy = ctx.prepared()
    routing = ctx.selection_context(body.get("in_flight"), {**unhealthy, **(body.get("unavailable") or {})})
    return JSONResponse(select(catalog, wanted, routing).to_json())
