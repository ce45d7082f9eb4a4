"""The response cache for operators (admin key; everything under /admin is guarded):
GET /admin/cache (entries, bytes, hits by kind, misses, evictions, guard rejections) and
DELETE /admin/cache?key= | ?tenant= | ?model= | ?all=true (how many entries were dropped)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from services.common.errors import InvalidRequest, NotFound
from services.common.http.responses import JSONResponse
from services.gateway.cache import ResponseCache
from services.gateway.pipeline import Pipeline


def _cache(request: Request) -> ResponseCache:
    pipeline: Pipeline = request.app.state.pipeline
    if pipeline.cache is None:
        raise NotFound("the response cache is off on this gateway (TOLLWAY_CACHE_ENABLED=false)")
    return pipeline.cache


async def stats(request: Request) -> Response:
    cache = _cache(request)
    return JSONResponse({"store": type(cache.store_backend).__name__, **await cache.snapshot()})


async def invalidate(request: Request) -> Response:
    cache = _cache(request)
    q = request.query_params
    which = {name: q[name] for name in ("key", "tenant", "model") if q.get(name)}
    everything = q.get("all") == "true"
    if not which and not everything:
        raise InvalidRequest("say what to drop: ?key=, ?tenant=, ?model= or ?all=true", field="all")
    dropped = await cache.invalidate(**which, everything=everything)
    return JSONResponse({"dropped": dropped, **which, "all": everything})
