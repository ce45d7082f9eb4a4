"""Budget leases for gateways: POST /leases (grow or renew), POST /leases/{lease_id}/return."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request

from services.common.errors import Conflict, Forbidden, InvalidRequest, NotFound
from services.common.http.app import contract_body
from services.common.http.body import read_json
from services.common.http.responses import JSONResponse
from services.common.ids import require_safe_id
from services.common.money import from_micros
from services.ledger.amounts import micros_of
from services.ledger.budgets.holds import refusal
from services.ledger.budgets.leases import LeaseOutcome
from services.ledger.budgets.model import BudgetKey
from services.ledger.budgets.status import status_body
from services.ledger.context import ledger
from services.ledger.times import US_PER_S, iso

router = APIRouter(tags=["leases"])


def _body(lease_id: str, outcome: LeaseOutcome, moved: str) -> dict[str, Any]:
    body: dict[str, Any] = {"lease_id": lease_id, "budgeted": True,
                            moved: from_micros(abs(outcome.granted_micros)),
                            "lease_usd": from_micros(outcome.lease_micros),
                            "expires_at": iso(outcome.expires_us)}
    if outcome.state is not None:
        body["budget"] = status_body(outcome.state)
    return body


@router.post("/leases", openapi_extra=contract_body("lease_request"))
async def grow_lease(request: Request) -> JSONResponse:
    ctx = ledger(request)
    body = await read_json(request, "lease_request", exact=True)
    lease_id = require_safe_id(body["lease_id"], "lease_id")
    if "run_id" in body:
        key = BudgetKey.run(require_safe_id(body["run_id"], "run_id"))
    else:
        key = BudgetKey(body["scope"], require_safe_id(body["scope_id"], "scope_id"))
    need, want = micros_of(body["need_usd"], "need_usd"), micros_of(body["want_usd"], "want_usd")
    if want < need:
        raise InvalidRequest(f"want_usd {body['want_usd']} is less than need_usd {body['need_usd']}",
                             field="want_usd")
    outcome = await ctx.store.grow_lease(lease_id, key, need, want, ctx.now_us(),
                                         int(ctx.settings.lease_ttl_s * US_PER_S), ctx.settings.lease_share,
                                         body.get("tenant"))
    ctx.metrics.lease(outcome)
    if outcome.kind == "foreign":
        raise Forbidden(f"run {key.scope_id} has a budget that belongs to another tenant; use a run id of your own",
                        field="run_id")
    if outcome.kind == "refused" and outcome.state is not None:
        worst = micros_of(body["worst_usd"], "worst_usd") if "worst_usd" in body else need
        raise refusal(outcome.state, max(worst, need), need)
    if outcome.kind == "conflict":
        raise Conflict(f"lease {lease_id} belongs to another budget", field="lease_id")
    if outcome.kind == "unbudgeted":
        return JSONResponse({"lease_id": lease_id, "budgeted": False})
    return JSONResponse(_body(lease_id, outcome, "granted_usd"))


@router.post("/leases/{lease_id}/return", openapi_extra=contract_body("lease_return"))
async def return_lease(request: Request, lease_id: str) -> JSONResponse:
    ctx = ledger(request)
    require_safe_id(lease_id, "lease_id")
    body = await read_json(request, "lease_return", exact=True)
    outcome = await ctx.store.return_lease(lease_id, micros_of(body["amount_usd"], "amount_usd"),
                                           ctx.now_us())
    if outcome is None:
        raise NotFound(f"no lease {lease_id} (unknown or expired)")
    return JSONResponse(_body(lease_id, outcome, "returned_usd"))
