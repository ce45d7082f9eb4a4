"""GET /providers (filtered), GET /providers/{name}, DELETE /providers/{name} (soft delete)."""

from __future__ import annotations

import structlog
from fastapi import APIRouter
from starlette.requests import Request

from services.common.errors import NotFound
from services.common.http.responses import JSONResponse
from services.router.context import router_context
from services.router.filters import apply, filter_from_query

router = APIRouter(tags=["registry"])
log = structlog.get_logger("tollway.router.providers")


def _unknown(name: str) -> NotFound:
    return NotFound(f"no provider named {name[:128]!r} is registered", field="name")


@router.get("/providers", summary="List providers (?model=&min_context=&feature=&include_inactive=)")
async def list_providers(request: Request) -> JSONResponse:
    wanted = filter_from_query(request.query_params)
    ctx = router_context(request)
    found = apply(await ctx.store.list(include_inactive=wanted.include_inactive), wanted)
    return JSONResponse({"providers": [p.to_json() for p in found], "count": len(found)})


@router.get("/providers/{name}", summary="One provider, active or soft-deleted")
async def show_provider(request: Request, name: str) -> JSONResponse:
    provider = await router_context(request).store.get(name)
    if provider is None:
        raise _unknown(name)
    return JSONResponse(provider.to_json())


@router.delete("/providers/{name}", summary="Soft-delete a provider (register it again to reactivate)")
async def delete_provider(request: Request, name: str) -> JSONResponse:
    ctx = router_context(request)
    provider = await ctx.store.set_active(name, False, ctx.clock.now())
    if provider is None:
        raise _unknown(name)
    version = await ctx.changed()
    log.info("provider_deactivated", provider=name, version=version)
    return JSONResponse({"name": provider.name, "active": False})
