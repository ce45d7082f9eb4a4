"""Budgets: POST /budget (query or JSON body; a run, key, user, team, org, provider, model or the
global one, with its period, time zone and thresholds), GET/DELETE /budget/{run_id},
GET/DELETE /budgets/{scope}/{scope_id}, GET /budgets/{scope}/{scope_id}/history, GET /budgets.
A virtual key reads only its own key's, user's, team's and org's budgets, and a run's only when
its tenant spent in that run (provider, model and global budgets span tenants: admin only)."""

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
from services.common.money import from_micros
from services.ledger.access import Reader, reader
from services.ledger.amounts import micros_of
from services.ledger.analytics.retention import Retention
from services.ledger.budgets.alerts import announce
from services.ledger.budgets.config import terms_of
from services.ledger.budgets.levels import percent
from services.ledger.budgets.model import GLOBAL, GLOBAL_ID, RUN, SCOPES, BudgetKey, BudgetState, ThresholdEvent
from services.ledger.budgets.periods import Window
from services.ledger.budgets.status import event_body, status_body
from services.ledger.context import LedgerContext, ledger
from services.ledger.events.kinds import publish_budget_change
from services.ledger.times import iso

router = APIRouter(tags=["budgets"])
MAX_PERIODS = 400


async def _budget_request(request: Request) -> dict[str, Any]:
    """The body, or the query string validated against the same contract; never both."""
    query = dict(request.query_params)
    has_body = bool((await request.body()).strip())
    if query and has_body:
        raise InvalidRequest("give the budget either as ?run_id=&budget_usd= or as a JSON body,"
                             " not both")
    if not query and not has_body:
        raise InvalidRequest("a budget needs budget_usd and run_id (or scope and scope_id), as a JSON"
                             " body or as query parameters")
    if has_body:
        return await read_json(request, "budget", exact=True)
    if "thresholds" in query:  # ?thresholds=50,90,100
        query["thresholds"] = _listed(query["thresholds"])  # type: ignore[assignment]
    contracts.validate("budget", query)
    return query


def _listed(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise InvalidRequest("thresholds must be whole percentages separated by commas, e.g. 75,90,100",
                             field="thresholds") from None


@router.post("/budget", openapi_extra=contract_body("budget"))
async def post_budget(request: Request) -> JSONResponse:
    ctx = ledger(request)
    data = await _budget_request(request)
    scope = data.get("scope") or RUN
    if "run_id" in data:
        scope_id = data["run_id"]
    elif scope == GLOBAL:
        scope_id = data.get("scope_id", GLOBAL_ID)
    elif "scope_id" in data:
        scope_id = data["scope_id"]
    else:
        raise InvalidRequest(f"a {scope} budget needs scope_id (the {scope} it caps)", field="scope_id")
    key = _key(scope, scope_id)
    terms = terms_of(data, ctx.settings.budget_tz)
    change = await ctx.store.set_budget(key, micros_of(data["budget_usd"], "budget_usd"), ctx.now_us(), terms)
    ctx.signal.bump(to=change.version)
    announce(change.events, ctx.on_threshold)
    await publish_budget_change(ctx.events, ctx.store, change.events)
    ctx.metrics.crossed(change.events)
    return JSONResponse(status_body(change.state), status_code=201 if change.created else 200)


def _key(scope: str, scope_id: str) -> BudgetKey:
    if scope not in SCOPES:
        raise InvalidRequest(f"scope must be one of {', '.join(SCOPES)}", field="scope")
    if scope == GLOBAL and scope_id != GLOBAL_ID:
        raise InvalidRequest(f"the global budget's scope_id is {GLOBAL_ID!r} (or leave it out)", field="scope_id")
    return BudgetKey(scope, require_safe_id(scope_id, "run_id" if scope == RUN else "scope_id"))


async def _readable(request: Request, key: BudgetKey) -> BudgetState:
    """The budget's state if this reader may see it; 404 otherwise (existence is not revealed)."""
    ctx = ledger(request)
    who = await reader(request)
    state = await ctx.store.budget(key, ctx.now_us())
    if state is not None and who.key is not None and not await _owns(ctx, who, key):
        state = None
    if state is None:
        raise NotFound(f"{key.scope} {key.scope_id} has no budget")
    return state


async def _owns(ctx: LedgerContext, who: Reader, key: BudgetKey) -> bool:
    vk = who.key
    assert vk is not None
    if key.scope == RUN:  # runs are shared names: a run's budget is its owner's alone
        return await ctx.store.run_owner(key.scope_id) == who.tenant
    return (key.scope, key.scope_id) in {("key", vk.key_id), ("user", vk.user), ("team", vk.team), ("org", vk.org)}


@router.get("/budget/{run_id}")
async def get_budget(request: Request, run_id: str) -> JSONResponse:
    return JSONResponse(status_body(await _readable(request, _key(RUN, run_id))))


@router.get("/budgets/{scope}/{scope_id}")
async def get_scoped_budget(request: Request, scope: str, scope_id: str) -> JSONResponse:
    return JSONResponse(status_body(await _readable(request, _key(scope, scope_id))))


@router.get("/budgets/{scope}/{scope_id}/history")
async def get_history(request: Request, scope: str, scope_id: str) -> JSONResponse:
    """The budget's current period and the ones before it (`?periods=`, default 12, at most 400),
    newest first: each period's bounds, spend and threshold events, and whether its spend is whole
    (`complete`: false once the period starts before the spend buckets' retention)."""
    key = _key(scope, scope_id)
    state = await _readable(request, key)
    ctx = ledger(request)
    count = _count(request.query_params.get("periods", "12"))
    now_us = ctx.now_us()
    periods = await ctx.store.budget_history(key, now_us, count) or []
    kept_from = Retention.of(ctx.settings).cutoffs(now_us).spend_buckets_us
    return JSONResponse({"scope": key.scope, "scope_id": key.scope_id, "period": state.terms.period,
                         "tz": state.terms.tz, "budget_usd": from_micros(state.budget_micros),
                         "periods": [_period_body(window, spent, events, state.budget_micros)
                                     | {"complete": not state.terms.periodic or window.start_us >= kept_from}
                                     for window, spent, events in periods]})


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PERIODS:
        raise InvalidRequest(f"periods must be a whole number from 1 to {MAX_PERIODS}", field="periods")
    return int(text)


def _period_body(window: Window, spent: int, events: tuple[ThresholdEvent, ...], budget: int) -> dict[str, Any]:
    bounds = {"start": iso(window.start_us), "end": iso(window.end_us)} if window.start_us else {}
    return bounds | {"spent_usd": from_micros(spent), "percent": percent(spent, budget),
                     "events": [event_body(e) for e in events]}


async def _delete(request: Request, key: BudgetKey) -> JSONResponse:
    ctx = ledger(request)
    version = await ctx.store.delete_budget(key)
    if version is None:
        raise NotFound(f"{key.scope} {key.scope_id} has no budget")
    ctx.signal.bump(to=version)
    return JSONResponse({"scope": key.scope, "scope_id": key.scope_id, "deleted": True, "version": version}
                        | ({"run_id": key.scope_id} if key.scope == RUN else {}))


@router.delete("/budget/{run_id}")
async def delete_budget(request: Request, run_id: str) -> JSONResponse:
    return await _delete(request, _key(RUN, run_id))


@router.delete("/budgets/{scope}/{scope_id}")
async def delete_scoped_budget(request: Request, scope: str, scope_id: str) -> JSONResponse:
    return await _delete(request, _key(scope, scope_id))


@router.get("/budgets")
async def list_budgets(request: Request) -> JSONResponse:
    """Every budget of `?scope=` (default run; `all` for every scope) this reader may see."""
    ctx = ledger(request)
    who = await reader(request)
    wanted = request.query_params.get("scope", RUN)
    scopes = SCOPES if wanted == "all" else (_key(wanted, GLOBAL_ID).scope,)
    states = [s for scope in scopes for s in await ctx.store.budgets(scope, ctx.now_us())]
    if who.key is not None:
        states = [s for s in states if await _owns(ctx, who, s.key)]
    return JSONResponse([status_body(s) for s in states])
