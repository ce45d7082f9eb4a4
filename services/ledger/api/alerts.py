"""Alerts (admin key): rules and channels (CRUD under /alerts/rules and /alerts/channels), the
alerts with their history (GET /alerts, GET /alerts/{id}, POST /alerts/{id}/ack), the delivery
records (GET /alerts/deliveries?status=failed, POST /alerts/deliveries/{id}/retry) and
POST /alerts/evaluate to evaluate every rule now. docs/alerts.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request

from services.common import jsonio
from services.common.errors import Conflict, InvalidRequest, NotFound
from services.common.http.app import contract_body
from services.common.http.body import read_object
from services.common.http.responses import JSONResponse
from services.common.ids import require_safe_id
from services.ledger.alerts.channels import parse_channel, stored_channel
from services.ledger.alerts.model import DELIVERY_STATES, RESOLVED, STATES
from services.ledger.alerts.payloads import ALERT_FIRING, ALERT_RESOLVED, BUDGET_THRESHOLD, DAILY_SUMMARY
from services.ledger.alerts.rules import parse_rule, stored_rule
from services.ledger.alerts.runner import AlertRunner
from services.ledger.context import ledger

router = APIRouter(tags=["alerts"])
KINDS = (ALERT_FIRING, ALERT_RESOLVED, BUDGET_THRESHOLD, DAILY_SUMMARY)


def _runner(request: Request) -> AlertRunner:
    runner: AlertRunner = request.app.state.alerts
    return runner


def _choice(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query_params.get(name)
    if value is not None and value not in allowed:
        raise InvalidRequest(f"{name} must be one of {', '.join(allowed)}", field=name)
    return value


def _limit(request: Request) -> int:
    text = request.query_params.get("limit", "100")
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise InvalidRequest("limit must be an integer from 1 to 1000", field="limit")
    return int(text)


# -- rules and channels: the same five verbs -------------------------------------------------------

class _Specs:
    """CRUD over one kind of stored spec (rules or channels)."""

    def __init__(self, what: str, id_name: str, parse: Callable[..., Any], stored: Callable[[str], Any],
                 show: Callable[[Any], dict[str, Any]]) -> None:
        self.what, self.id_name, self.parse, self.stored, self.show = what, id_name, parse, stored, show

    def _store(self, request: Request) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
        store = _runner(request).store
        if self.what == "rule":
            return store.put_rule, store.rules, store.delete_rule
        return store.put_channel, store.channels, store.delete_channel

    async def _parsed(self, request: Request, item_id: str | None = None) -> Any:
        item = self.parse(await read_object(request, exact=True), item_id)
        if self.what == "rule":  # every channel a rule names exists
            known = {cid for cid, _, _ in await _runner(request).store.channels()}
            missing = [c for c in item.channels if c not in known]
            if missing:
                raise InvalidRequest(f"no channel {', '.join(missing)}: create it first (POST /alerts/channels)",
                                     field="channels")
        return item

    async def create(self, request: Request) -> JSONResponse:
        item = await self._parsed(request)
        put, listing, _ = self._store(request)
        item_id = getattr(item, self.id_name)
        if await listing(item_id):
            raise Conflict(f"{self.what} {item_id} exists: PUT /alerts/{self.what}s/{item_id} replaces it",
                           field=self.id_name)
        await put(item_id, jsonio.dumps(item.spec()).decode(), ledger(request).now_us())
        return JSONResponse(self.show(item), status_code=201)

    async def replace(self, request: Request, item_id: str) -> JSONResponse:
        item = await self._parsed(request, require_safe_id(item_id, self.id_name))
        put, _, _ = self._store(request)
        created = await put(item_id, jsonio.dumps(item.spec()).decode(), ledger(request).now_us())
        return JSONResponse(self.show(item), status_code=201 if created else 200)

    async def listing(self, request: Request) -> JSONResponse:
        _, listing, _ = self._store(request)
        return JSONResponse([self.show(self.stored(spec)) for _, spec, _ in await listing()])

    async def one(self, request: Request, item_id: str) -> JSONResponse:
        _, listing, _ = self._store(request)
        found = await listing(require_safe_id(item_id, self.id_name))
        if not found:
            raise NotFound(f"no {self.what} {item_id}")
        return JSONResponse(self.show(self.stored(found[0][1])))

    async def delete(self, request: Request, item_id: str) -> JSONResponse:
        _, _, delete = self._store(request)
        if not await delete(require_safe_id(item_id, self.id_name)):
            raise NotFound(f"no {self.what} {item_id}")
        return JSONResponse({self.id_name: item_id, "deleted": True})


RULES = _Specs("rule", "rule_id", parse_rule, stored_rule, lambda r: r.spec())
CHANNELS = _Specs("channel", "channel_id", parse_channel, stored_channel, lambda c: c.public())


def _crud(specs: _Specs, path: str, contract: str) -> None:
    """The five routes of rules or channels: POST and GET on `path`, GET, PUT, DELETE on `path/{id}`."""
    item = f"{path}/{{{specs.id_name}}}"

    async def one(request: Request) -> JSONResponse:
        return await specs.one(request, request.path_params[specs.id_name])

    async def replace(request: Request) -> JSONResponse:
        return await specs.replace(request, request.path_params[specs.id_name])

    async def delete(request: Request) -> JSONResponse:
        return await specs.delete(request, request.path_params[specs.id_name])

    body = contract_body(contract)
    router.add_api_route(path, specs.create, methods=["POST"], openapi_extra=body,
                         name=f"create_{specs.what}")
    router.add_api_route(path, specs.listing, methods=["GET"], name=f"list_{specs.what}s")
    router.add_api_route(item, one, methods=["GET"], name=f"get_{specs.what}")
    router.add_api_route(item, replace, methods=["PUT"], openapi_extra=body, name=f"put_{specs.what}")
    router.add_api_route(item, delete, methods=["DELETE"], name=f"delete_{specs.what}")


_crud(RULES, "/alerts/rules", "alert_rule")
_crud(CHANNELS, "/alerts/channels", "alert_channel")


# -- evaluation, deliveries, alerts ------------------------------------------------------------------

@router.post("/alerts/evaluate")
async def evaluate_now(request: Request) -> JSONResponse:
    """Evaluate every rule now (as the loop does every alert_interval_s)."""
    result = await _runner(request).evaluate_now()
    return JSONResponse({"fired": [a.alert_id for a in result.fired], "resolved": result.resolved,
                         "values": {k: None if v is None else format(v, "f") for k, v in result.values.items()}})


@router.get("/alerts/deliveries")
async def list_deliveries(request: Request) -> JSONResponse:
    rows = await _runner(request).store.deliveries(_choice(request, "status", DELIVERY_STATES),
                                                   _choice(request, "kind", KINDS), _limit(request))
    return JSONResponse([d.public() for d in rows])


@router.get("/alerts/deliveries/{delivery_id}")
async def get_delivery(request: Request, delivery_id: str) -> JSONResponse:
    found = await _runner(request).store.delivery(require_safe_id(delivery_id, "delivery_id"))
    if found is None:
        raise NotFound(f"no delivery {delivery_id}")
    delivery, attempts = found
    return JSONResponse({**delivery.public(), "payload": jsonio.loads(delivery.payload),
                         "attempts_made": [a.public() for a in attempts]})


@router.post("/alerts/deliveries/{delivery_id}/retry")
async def retry_delivery(request: Request, delivery_id: str) -> JSONResponse:
    runner = _runner(request)
    if not await runner.store.retry(require_safe_id(delivery_id, "delivery_id"), ledger(request).now_us()):
        raise NotFound(f"no failed delivery {delivery_id}")
    runner.wake()
    return JSONResponse({"delivery_id": delivery_id, "status": "pending"})


@router.get("/alerts")
async def list_alerts(request: Request) -> JSONResponse:
    rule_id = request.query_params.get("rule_id")
    rows = await _runner(request).store.alerts(_choice(request, "state", STATES),
                                               None if rule_id is None else require_safe_id(rule_id, "rule_id"),
                                               _limit(request))
    return JSONResponse([a.public() for a in rows])


@router.get("/alerts/{alert_id}")
async def get_alert(request: Request, alert_id: str) -> JSONResponse:
    found = await _runner(request).store.alert(require_safe_id(alert_id, "alert_id"))
    if found is None:
        raise NotFound(f"no alert {alert_id}")
    alert, history = found
    return JSONResponse({**alert.public(), "history": [h.public() for h in history]})


@router.post("/alerts/{alert_id}/ack")
async def acknowledge(request: Request, alert_id: str) -> JSONResponse:
    note = None
    if (await request.body()).strip():
        body = await read_object(request)
        note = body.get("note")
        if set(body) - {"note"} or (note is not None and (not isinstance(note, str) or len(note) > 1000)):
            raise InvalidRequest("the body is {\"note\": \"<at most 1000 characters>\"}", field="note")
    runner = _runner(request)
    state = await runner.store.acknowledge(require_safe_id(alert_id, "alert_id"), ledger(request).now_us(), note)
    if state is None:
        raise NotFound(f"no alert {alert_id}")
    if state == RESOLVED:
        raise Conflict(f"alert {alert_id} is resolved already", field="alert_id")
    found = await runner.store.alert(alert_id)
    assert found is not None
    alert, history = found
    return JSONResponse({**alert.public(), "history": [h.public() for h in history]})
