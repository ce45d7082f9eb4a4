"""The gateway's budget calls to the ledger: grow (or renew) a lease, return what is unused.

A ledger that cannot be reached is `DependencyUnavailable` (503 for a client that needed the
lease to grow): a budget is a hard cap, so it fails closed. A refused grant is `BudgetExceeded`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal

import orjson
import structlog

from services.common import jsonio
from services.common.errors import BudgetExceeded, DependencyUnavailable, InvalidRequest
from services.common.money import from_micros, to_micros
from services.gateway.forwarding.http1 import ConnectionPool, UpstreamHTTPError, target_of

log = structlog.get_logger("tollway.gateway.budgets")


@dataclass(frozen=True, slots=True)
class Grant:
    budgeted: bool
    micros: int  # granted (or returned)


class LedgerBudgetClient:
    def __init__(self, ledger_url: str, timeout_s: float, *, headers: dict[str, str] | None = None) -> None:
        self.base = ledger_url.rstrip("/")
        self.headers = {"content-type": "application/json", **(headers or {})}
        self.timeout_s = timeout_s
        self.pool = ConnectionPool()  # the gateway's own HTTP/1.1 client, as for providers

    async def start(self) -> None:
        """Nothing to set up: connections are made on first use."""

    async def close(self) -> None:
        self.pool.close()

    async def grow(self, lease_id: str, budget: str, need: int, want: int, request_id: str) -> Grant:
        """Ask for up to `want` micros (at least `need`) more on the lease on `budget` ('run:<id>'...)."""
        scope, _, scope_id = budget.partition(":")
        target = {"run_id": scope_id} if scope == "run" else {"scope": scope, "scope_id": scope_id}
        body = {"lease_id": lease_id, **target, "need_usd": from_micros(need), "want_usd": from_micros(want)}
        data = await self._post("/leases", body, budget, request_id)
        return Grant(bool(data.get("budgeted")), to_micros(Decimal(data.get("granted_usd", 0))))

    async def give_back(self, lease_id: str, budget: str, amount: int) -> Grant:
        data = await self._post(f"/leases/{lease_id}/return", {"amount_usd": from_micros(amount)}, budget, lease_id)
        return Grant(True, to_micros(Decimal(data.get("returned_usd", 0))))

    async def _post(self, path: str, body: dict[str, object], budget: str, request_id: str) -> dict:
        try:
            async with asyncio.timeout(self.timeout_s):
                resp = await self.pool.request("POST", target_of(self.base + path),
                                               {**self.headers, "x-request-id": request_id}, jsonio.dumps(body),
                                               self.timeout_s)
                raw = await resp.read()
            status = resp.status
        except (UpstreamHTTPError, TimeoutError) as exc:
            log.warning("ledger_unreachable", budget=budget, path=path, error=repr(exc))
            raise DependencyUnavailable(
                f"{budget.replace(':', ' ', 1)} has a budget and the ledger cannot be reached to reserve it; "
                "refusing rather than risk overspending") from None
        if status == 402:
            message = _error_message(raw) or f"budget of {budget} exhausted"
            scope, _, scope_id = budget.partition(":")
            raise BudgetExceeded(message, extra={"budget": budget, **({"run_id": scope_id} if scope == "run" else {})})
        if status >= 400:
            raise DependencyUnavailable(f"ledger refused {path}: HTTP {status} {_error_message(raw)}")
        try:
            data = jsonio.loads_exact(raw)
        except InvalidRequest:
            raise DependencyUnavailable(f"ledger answered {path} with a body that is not JSON") from None
        return data if isinstance(data, dict) else {}


def _error_message(raw: bytes) -> str:
    try:
        data = orjson.loads(raw)
        return str(data["error"]["message"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return raw[:200].decode("utf-8", "replace")
