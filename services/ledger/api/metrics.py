"""GET /metrics?window=minute|hour|day: rolling windows of cost, requests and tokens (JSON).

A virtual key sees the same report over its own tenant's receipts only. Without `window` (and
without asking for JSON) it is the ledger's Prometheus metrics (services/common/metrics/)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from services.common.http.responses import JSONResponse
from services.common.metrics.exposition import prometheus_response, wants_text
from services.ledger.access import reader
from services.ledger.context import ledger
from services.ledger.windows.buckets import grain
from services.ledger.windows.report import metrics_body

router = APIRouter(tags=["windows"])


@router.get("/metrics")
async def get_metrics(request: Request, window: str = "minute") -> Response:
    ctx = ledger(request)
    if wants_text(request):
        return await prometheus_response(request, ctx.settings)
    g = grain(window)
    now_us = ctx.now_us()
    starts = g.starts(now_us)
    tenant = (await reader(request)).tenant
    if tenant is None:
        rows = await ctx.store.rollups(g.name, starts[0], starts[-1])
    else:
        rows = await ctx.store.tenant_window(tenant, g.size_us, starts[0], starts[-1])
    body = metrics_body(g, now_us, rows)
    if tenant is not None:
        body["tenant"] = tenant
    return JSONResponse(body)
