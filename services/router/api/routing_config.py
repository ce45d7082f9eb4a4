"""The routing configuration over HTTP: GET/PUT /routing (the whole of it) and, per kind
(aliases, routes, rules, experiments), GET /routing/{kind}, GET/PUT/DELETE /routing/{kind}/{name}.
Bodies are checked against contracts/routing_*.schema.json; every change moves the snapshot's
version, so gateways pick it up without a restart."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter
from starlette.requests import Request

from services.common.errors import NotFound
from services.common.http.app import contract_body
from services.common.http.body import read_json
from services.common.http.responses import JSONResponse
from services.common.selection.config import KINDS
from services.router.context import RouterContext, router_context
from services.router.routing.validate import (
    KIND_CONTRACTS,
    check_alias_among,
    require_name,
    validate_config,
    validate_entry,
)
from services.router.store.routing_sqlite import entries

router = APIRouter(tags=["routing"])
log = structlog.get_logger("tollway.router.routing")


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFound(f"no routing configuration kind {kind[:64]!r}; kinds are {', '.join(KINDS)}", field="kind")
    return kind


async def _after_change(ctx: RouterContext, what: str, **fields: object) -> int:
    version = await ctx.changed()
    log.info("routing_changed", what=what, routing_version=ctx.config.version, snapshot_version=version, **fields)
    return ctx.config.version


@router.get("/routing", summary="The whole routing configuration and its version")
async def show_config(request: Request) -> JSONResponse:
    return JSONResponse(await router_context(request).routing.config())


@router.put("/routing", openapi_extra=contract_body("routing_config"),
            summary="Replace the whole routing configuration")
async def replace_config(request: Request) -> JSONResponse:
    ctx = router_context(request)
    body = validate_config(await read_json(request, "routing_config"))
    await ctx.routing.replace(entries(body))
    version = await _after_change(ctx, "replaced")
    return JSONResponse({**(await ctx.routing.config()), "version": version})


@router.get("/routing/{kind}", summary="Every entry of one kind (aliases, routes, rules, experiments)")
async def list_entries(request: Request, kind: str) -> JSONResponse:
    return JSONResponse((await router_context(request).routing.config())[_kind(kind)])


@router.get("/routing/{kind}/{name}", summary="One routing entry")
async def show_entry(request: Request, kind: str, name: str) -> JSONResponse:
    body = await router_context(request).routing.get(_kind(kind), name)
    if body is None:
        raise NotFound(f"no {kind} entry named {name[:128]!r}", field="name")
    return JSONResponse(body)


@router.put("/routing/{kind}/{name}", status_code=201,
            summary="Create or replace one routing entry (201 created, 200 replaced)")
async def put_entry(request: Request, kind: str, name: str) -> JSONResponse:
    ctx = router_context(request)
    require_name(name)
    body = await read_json(request, KIND_CONTRACTS[_kind(kind)])
    validate_entry(kind, name, body)

    def check(config: dict[str, Any]) -> None:
        """What the entry must not do to the configuration it joins: an alias, come back to itself."""
        if kind == "aliases":
            check_alias_among(config, name, body)

    _, created = await ctx.routing.put_checked(kind, name, body, check)  # checked and written in one turn
    version = await _after_change(ctx, "put", kind=kind, name=name, created=created)
    return JSONResponse({"kind": kind, "name": name, "entry": body, "created": created, "version": version},
                        status_code=201 if created else 200)


@router.delete("/routing/{kind}/{name}", summary="Remove one routing entry")
async def delete_entry(request: Request, kind: str, name: str) -> JSONResponse:
    ctx = router_context(request)
    if await ctx.routing.delete(_kind(kind), name) is None:
        raise NotFound(f"no {kind} entry named {name[:128]!r}", field="name")
    version = await _after_change(ctx, "deleted", kind=kind, name=name)
    return JSONResponse({"kind": kind, "name": name, "deleted": True, "version": version})
