"""Budgets per run: POST /budget (query or JSON body), GET/DELETE /budget/{run_id}, GET /budgets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request

from services.common import contracts
from services.common.errors import InvalidRequest, NotFound
from services.common.http.app import contract_body
from services.common.http.body import read_json
from services.common.http.responses import JSONResponse
from services.common.ids import require_safe_id
from services.ledger.amounts import micros_of
from services.ledger.budgets.alerts import announce
from services.ledger.budgets.model import RUN, BudgetKey
from services.ledger.budgets.status import status_body
from services.ledger.context import ledger

router = APIRouter(tags=["budgets"])


async def _budget_request(request: Request) -> dict[str, Any]:
    """The body, or the query string validated against the same contract; never both."""
    query = dict(request.query_params)
    has_body = bool((await request.body()).strip())
    if query and has_body:
        raise InvalidRequest("give the budget either as ?run_id=&budget_usd= or as a JSON body,"
                             " not both")
    if not query and not has_body:
        raise InvalidRequest("a budget needs run_id and budget_usd, as a JSON body or as"
                             " query parameters")
    if has_body:
        return await read_json(request, "budget", exact=True)
    contracts.validate("budget", query)
    return query


@router.post("/budget", openapi_extra=contract_body("budget"))
async def post_budget(request: Request) -> JSONResponse:
    ctx = ledger(request)
    data = await _budget_request(request)
    run_id = require_safe_id(data["run_id"], "run_id")
    change = await ctx.store.set_budget(BudgetKey.run(run_id), micros_of(data["budget_usd"], "budget_usd"),
                                        ctx.now_us())
    ctx.signal.bump(to=change.version)
    announce(change.events)
    return JSONResponse(status_body(change.state), status_code=201 if change.created else 200)


@router.get("/budget/{run_id}")
async def get_budget(request: Request, run_id: str) -> JSONResponse:
    ctx = ledger(request)
    state = await ctx.store.budget(BudgetKey.run(require_safe_id(run_id, "run_id")), ctx.now_us())
    if state is None:
        raise NotFound(f"run {run_id} has no budget")
    return JSONResponse(status_body(state))


@router.delete("/budget/{run_id}")
async def delete_budget(request: Request, run_id: str) -> JSONResponse:
    ctx = ledger(request)
    version = await ctx.store.delete_budget(BudgetKey.run(require_safe_id(run_id, "run_id")))
    if version is None:
        raise NotFound(f"run {run_id} has no budget")
    ctx.signal.bump(to=version)
    return JSONResponse({"run_id": run_id, "deleted": True, "version": version})


@router.get("/budgets")
async def list_budgets(request: Request) -> JSONResponse:
    ctx = ledger(request)
    return JSONResponse([status_body(s) for s in await ctx.store.budgets(RUN, ctx.now_us())])
