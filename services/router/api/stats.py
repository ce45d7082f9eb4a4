"""GET /stats: registry totals, models, features, price extremes and version."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from services.common.http.responses import JSONResponse
from services.router.context import router_context
from services.router.stats import registry_stats

router = APIRouter(tags=["registry"])


@router.get("/stats", summary="Registry statistics")
async def stats(request: Request) -> JSONResponse:
    store = router_context(request).store
    version = await store.version()
    return JSONResponse(registry_stats(await store.list(include_inactive=True), version))
