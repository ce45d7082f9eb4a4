"""The gateway's budget calls to the ledger: grow (or renew) a lease, return what is unused.

A ledger that cannot be reached is `DependencyUnavailable` (503 for a client that needed the
lease to grow, with `Retry-After: 2`): a budget is a hard cap, so it fails closed. A refused grant
is `BudgetExceeded`. While the ledger is unreachable the log says so once, then at most every 5 s
with the count of failures not logged meanwhile, and once more when it answers again
(services/common/loss_log.py): not one line per request. With several ledger addresses a call that cannot
reach one (or that one answers 5xx: its database is away) is made on the next at once; the ledgers
share one database, so any of them grows, renews or takes back any lease.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal

import orjson
import structlog

from services.common import jsonio
from services.common.errors import BudgetExceeded, DependencyUnavailable, Forbidden, InvalidRequest, NotFound
from services.common.loss_log import LossLog
from services.common.money import from_micros, to_micros
from services.gateway.failover import Addresses, first_answer
from services.gateway.forwarding.http1 import ConnectionPool, UpstreamHTTPError, target_of

log = structlog.get_logger("tollway.gateway.budgets")

RETRY_AFTER_S = 2  # the 503s while the ledger is down: about a restart's time


def unavailable(message: str) -> DependencyUnavailable:
    """The 503 for a ledger that cannot serve a lease now: worth retrying shortly."""
    return DependencyUnavailable(message, headers={"retry-after": str(RETRY_AFTER_S)})


@dataclass(frozen=True, slots=True)
class Grant:
    budgeted: bool
    micros: int  # granted (or returned)
    budget: dict[str, object] | None = None  # the budget's status after the grant (budget_usd, spent_usd...)
    lease_micros: int | None = None  # what the lease holds at the ledger after the call, when it said


class LeaseGone(NotFound):
    """The ledger holds no such lease any more (it lapsed: its TTL passed unrenewed): nothing to
    give back, and nothing it held is held now."""


class LedgerRefused(Exception):
    """A ledger answered 5xx: it cannot serve the call now; another ledger may."""

    def __init__(self, status: int, raw: bytes) -> None:
        super().__init__(f"HTTP {status} {_error_message(raw)}")
        self.status, self.raw = status, raw


class LedgerBudgetClient:
    def __init__(self, ledger: Addresses | str, timeout_s: float, *, headers: dict[str, str] | None = None) -> None:
        self.ledger = Addresses.of("ledger", ledger)
        self.headers = {"content-type": "application/json", **(headers or {})}
        self.timeout_s = timeout_s
        self.pool = ConnectionPool()  # the gateway's own HTTP/1.1 client, as for providers
        self.unreachable = LossLog("ledger_unreachable", again="ledger_still_unreachable",
                                   back="ledger_reachable_again", logger=log)

    async def start(self) -> None:
        """Nothing to set up: connections are made on first use."""

    async def close(self) -> None:
        self.pool.close()

    async def grow(self, lease_id: str, budget: str, need: int, want: int, request_id: str,
                   tenant: str | None = None, worst: int | None = None) -> Grant:
        """Ask for up to `want` micros (at least `need`) more on the lease on `budget` ('run:<id>'...);
        `tenant` claims a run's budget (another tenant's is a 403); `worst` is the worst case of the
        request waiting on it, which a 402's message states."""
        scope, _, scope_id = budget.partition(":")
        target = {"run_id": scope_id} if scope == "run" else {"scope": scope, "scope_id": scope_id}
        body = {"lease_id": lease_id, **target, "need_usd": from_micros(need), "want_usd": from_micros(want)}
        if tenant is not None and scope == "run":
            body["tenant"] = tenant
        if worst is not None:
            body["worst_usd"] = from_micros(worst)
        return _grant(await self._post("/leases", body, budget, request_id), "granted_usd")

    async def give_back(self, lease_id: str, budget: str, amount: int) -> Grant:
        """Return `amount` micros of the lease; `LeaseGone` when the ledger no longer holds it."""
        data = await self._post(f"/leases/{lease_id}/return", {"amount_usd": from_micros(amount)}, budget, lease_id)
        return _grant(data, "returned_usd")

    async def _post(self, path: str, body: dict[str, object], budget: str, request_id: str) -> dict:
        payload = jsonio.dumps(body)
        headers = {**self.headers, "x-request-id": request_id}

        async def post(base: str) -> tuple[int, bytes]:
            async with asyncio.timeout(self.timeout_s):
                resp = await self.pool.request("POST", target_of(base + path), headers, payload, self.timeout_s)
                raw = await resp.read()
            if resp.status >= 500:
                raise LedgerRefused(resp.status, raw)
            return resp.status, raw

        try:
            status, raw = await first_answer(self.ledger, post, (UpstreamHTTPError, TimeoutError, LedgerRefused))
        except (UpstreamHTTPError, TimeoutError) as exc:
            self.unreachable.failed(budget=budget, path=path, error=repr(exc))
            raise unavailable(
                f"{budget.replace(':', ' ', 1)} has a budget and the ledger cannot be reached to reserve it; "
                "refusing rather than risk overspending") from None
        except LedgerRefused as exc:
            self.unreachable.reached()
            raise unavailable(f"ledger refused {path}: {exc}") from None
        self.unreachable.reached()
        if status == 402:  # the ledger's words and figures (services/common/budget_refusal.py), passed on
            message = _error_message(raw) or f"budget of {budget} exhausted"
            raise BudgetExceeded(message, extra={**_figures(raw), **budget_names(budget)})
        if status == 404:
            raise LeaseGone(_error_message(raw) or f"the ledger holds no lease on {budget}")
        if status == 403:
            raise Forbidden(_error_message(raw) or f"{budget} belongs to another tenant", field="X-Tollway-Run")
        if status >= 400:
            raise unavailable(f"ledger refused {path}: HTTP {status} {_error_message(raw)}")
        try:
            data = jsonio.loads_exact(raw)
        except InvalidRequest:
            raise unavailable(f"ledger answered {path} with a body that is not JSON") from None
        return data if isinstance(data, dict) else {}


def _grant(data: dict, moved: str) -> Grant:
    """A lease answer: what moved (`granted_usd` or `returned_usd`), the budget's status and what
    the lease holds after the call."""
    status = data.get("budget")
    held = data.get("lease_usd")
    return Grant(bool(data.get("budgeted")), to_micros(Decimal(str(data.get(moved, 0)))),
                 status if isinstance(status, dict) else None,
                 to_micros(Decimal(str(held))) if held is not None else None)


def budget_names(budget: str) -> dict[str, str]:
    """The error fields naming a budget ('run:<id>', 'team:<team>'...)."""
    scope, _, scope_id = budget.partition(":")
    return {"budget": budget, **({"run_id": scope_id} if scope == "run" else {})}


def _figures(raw: bytes) -> dict[str, object]:
    """The figures of a ledger's 402 body (`budget_usd`...), exact."""
    try:
        err = jsonio.loads_exact(raw)["error"]
    except (InvalidRequest, KeyError, TypeError):
        return {}
    return {k: v for k, v in err.items() if k.endswith("_usd")} if isinstance(err, dict) else {}


def _error_message(raw: bytes) -> str:
    try:
        data = orjson.loads(raw)
        return str(data["error"]["message"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return raw[:200].decode("utf-8", "replace")
