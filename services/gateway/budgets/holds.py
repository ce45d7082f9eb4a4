"""Budget holds at the ledger: reserve the worst case before forwarding. A hold is settled by
its receipt reaching the ledger (the ledger drops the hold whose id is the receipt's request_id):
the gateway wakes its shipper, which delivers the receipts of concurrent requests in one batch.

Only runs the ledger lists as budgeted need a hold (the gateway follows that list). A hold the
ledger refuses is a 402 for the client; a ledger that cannot be reached refuses budgeted runs
(503): a budget is a hard cap, so it fails closed.
"""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import orjson
import structlog

from services.common import jsonio
from services.common.errors import BudgetExceeded, DependencyUnavailable

log = structlog.get_logger("tollway.gateway.holds")


class HoldClient:
    def __init__(self, ledger_url: str, timeout_s: float) -> None:
        self.base = ledger_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self.timeout,
                                              connector=aiohttp.TCPConnector(limit=64))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def hold(self, hold_id: str, run_id: str, amount: Decimal, request_id: str) -> bool:
        """Reserve `amount` for `run_id`; True when held, False when the run has no budget."""
        assert self._session is not None
        body = jsonio.dumps({"hold_id": hold_id, "run_id": run_id, "amount_usd": amount})
        try:
            async with self._session.post(f"{self.base}/holds", data=body,
                                          headers={"content-type": "application/json",
                                                   "x-request-id": request_id}) as resp:
                raw = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("hold_failed_ledger_unreachable", run_id=run_id, error=repr(exc))
            raise DependencyUnavailable(
                f"run {run_id} has a budget and the ledger cannot be reached to reserve it; "
                "refusing rather than risk overspending") from None
        if status == 402:
            message = _error_message(raw) or f"budget for run {run_id} exhausted"
            raise BudgetExceeded(message, extra={"run_id": run_id})
        if status >= 400:
            raise DependencyUnavailable(f"ledger refused the hold: HTTP {status} {_error_message(raw)}")
        data = orjson.loads(raw)
        return bool(data.get("held"))


def _error_message(raw: bytes) -> str:
    try:
        data = orjson.loads(raw)
        return str(data["error"]["message"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return raw[:200].decode("utf-8", "replace")
