"""Rate limits every gateway applies (admin key): POST /limits (create or replace),
GET /limits, DELETE /limits/{name}?dimension=&match=. Gateways receive them with the keys snapshot."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request

from services.common.errors import InvalidRequest, NotFound
from services.common.http.app import contract_body
from services.common.http.body import read_json
from services.common.http.responses import JSONResponse
from services.ledger.context import ledger
from services.ledger.keys.limits import normal_limits
from services.ledger.times import future_us

router = APIRouter(tags=["limits"])


@router.post("/limits", openapi_extra=contract_body("limit_spec"))
async def put_limit(request: Request) -> JSONResponse:
    ctx = ledger(request)
    spec = normal_limits([await read_json(request, "limit_spec")])[0]
    if spec["dimension"] == "global" and "match" in spec:
        raise InvalidRequest("a global limit applies to everyone: it cannot match one value", field="match")
    now = ctx.now_us()
    expires = future_us(spec["expires_at"], "expires_at", now) if "expires_at" in spec else None
    ctx.keys_signal.bump(to=await ctx.store.put_limit(spec, expires, now))
    return JSONResponse(spec, status_code=201)


@router.get("/limits")
async def list_limits(request: Request) -> JSONResponse:
    ctx = ledger(request)
    return JSONResponse({"limits": await ctx.store.limits(ctx.now_us())})


@router.delete("/limits/{name}")
async def drop_limit(request: Request, name: str) -> JSONResponse:
    ctx = ledger(request)
    dimension = request.query_params.get("dimension", "")
    match = request.query_params.get("match", "")
    if not dimension:
        raise InvalidRequest("say which limit: ?dimension=<key|user|team|org|ip|provider|global>[&match=]",
                             field="dimension")
    version = await ctx.store.drop_limit(name, dimension, match)
    if version is None:
        raise NotFound(f"no limit {name} on {dimension}" + (f" for {match}" if match else ""))
    ctx.keys_signal.bump(to=version)
    return JSONResponse({"name": name, "dimension": dimension, "match": match or None, "deleted": True})
