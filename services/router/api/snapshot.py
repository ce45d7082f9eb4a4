"""GET /registry/snapshot: every active provider, the routing configuration, the observed
stats, and the snapshot's version, long-polled.

With `?after=<v>` equal to the current version the answer waits until the version moves or
`wait` seconds (at most 60) pass; any other `after` (older, or ahead after a reset) is
answered at once. This is how the gateway's local copy stays fresh.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from services.common.http.responses import JSONResponse
from services.router.context import router_context
from services.router.params import float_param, int_param

router = APIRouter(tags=["registry"])


@router.get("/registry/snapshot", summary="Active providers, routing config, observed stats, version (?after=&wait=)")
async def registry_snapshot(request: Request) -> JSONResponse:
    after = int_param(request.query_params, "after")
    wait = float_param(request.query_params, "wait") or 0.0
    ctx = router_context(request)
    await ctx.signal.answer_when_changed(after, wait)
    version = ctx.snapshot_version()  # the providers are the ones read at that registry version
    return JSONResponse({"version": version, "providers": [p.to_json() for p in ctx.providers],
                         "routing": ctx.config.to_json(), "observed": ctx.outcomes.observed.to_json()})
