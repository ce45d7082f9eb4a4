"""Virtual keys (admin key): POST /keys, GET /keys, GET /keys/{key_id}, DELETE /keys/{key_id}
(revoke), and GET /keys/snapshot, which gateways long-poll to authenticate from memory."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request

from services.common.errors import InvalidRequest, NotFound
from services.common.http.app import contract_body
from services.common.http.body import read_json
from services.common.http.responses import JSONResponse
from services.common.virtual_keys import display_prefix, hash_secret, new_key_id, new_secret
from services.ledger.context import ledger
from services.ledger.keys.limits import normal_limits
from services.ledger.keys.model import VirtualKey
from services.ledger.times import future_us, later_us

router = APIRouter(tags=["keys"])

FILTERS = ("user", "team", "org")


@router.post("/keys", openapi_extra=contract_body("key_request"))
async def create_key(request: Request) -> JSONResponse:
    ctx = ledger(request)
    body = await read_json(request, "key_request")
    now = ctx.now_us()
    if "expires_at" in body and "expires_in_s" in body:
        raise InvalidRequest("give expires_at or expires_in_s, not both", field="expires_in_s")
    expires = None
    if "expires_in_s" in body:
        expires = later_us(body["expires_in_s"], "expires_in_s", now)
    elif "expires_at" in body:
        expires = future_us(body["expires_at"], "expires_at", now)
    secret = new_secret()
    key = VirtualKey(key_id=new_key_id(), secret_hash=hash_secret(secret), prefix=display_prefix(secret),
                     created_us=now, name=body.get("name"), user=body.get("user"), team=body.get("team"),
                     org=body.get("org"), models=body.get("models"), limits=normal_limits(body.get("limits", [])),
                     metadata=body.get("metadata", {}), expires_us=expires, cache=body.get("cache", {}))
    ctx.keys_signal.bump(to=await ctx.store.create_key(key))
    return JSONResponse({**key.public(now), "secret": secret}, status_code=201)


@router.get("/keys/snapshot")
async def keys_snapshot(request: Request,
                        after: Annotated[int | None, Query(ge=0)] = None,
                        wait: Annotated[float, Query(ge=0, allow_inf_nan=False)] = 0.0) -> JSONResponse:
    ctx = ledger(request)
    await ctx.keys_signal.answer_when_changed(after, wait)
    version, keys, limits = await ctx.store.keys_snapshot(ctx.now_us())
    return JSONResponse({"version": version, "keys": [k.for_gateway() for k in keys], "limits": limits})


@router.get("/keys")
async def list_keys(request: Request) -> JSONResponse:
    ctx = ledger(request)
    filters = {name: value for name in FILTERS if (value := request.query_params.get(name))}
    now = ctx.now_us()
    keys = await ctx.store.keys(filters)  # a key stored unreadably is left out (the store logs it)
    return JSONResponse({"keys": [k.public(now) for k in keys if k.problem is None]})


@router.get("/keys/{key_id}")
async def show_key(request: Request, key_id: str) -> JSONResponse:
    ctx = ledger(request)
    key = await ctx.store.key(key_id)
    if key is None:
        raise NotFound(f"no key {key_id}")
    return JSONResponse(key.public(ctx.now_us()))


@router.delete("/keys/{key_id}")
async def revoke_key(request: Request, key_id: str) -> JSONResponse:
    ctx = ledger(request)
    result = await ctx.store.revoke_key(key_id, ctx.now_us())
    if result is None:
        raise NotFound(f"no key {key_id}")
    key, version = result
    ctx.keys_signal.bump(to=version)
    return JSONResponse(key.public(ctx.now_us()))
