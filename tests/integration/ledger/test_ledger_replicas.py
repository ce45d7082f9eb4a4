"""Two ledgers on one PostgreSQL: leases granted through both at once never add up past the budget
(each grant locks the budget's row), and a receipt shipped to both is counted once."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import httpx
from fastapi import FastAPI
from structlog.testing import capture_logs

from services.common.clock import FrozenClock
from services.common.settings import Settings
from services.ledger.app import create_app
from tests.integration.ledger.conftest import pg_schema
from tests.integration.ledger.ledger_factory import exact, make_receipt, post


def _two_ledgers(url: str, tmp_path: Path, clock: FrozenClock) -> list[FastAPI]:
    return [create_app(Settings(artifacts_dir=tmp_path / name, access_log=False, database_url=url,
                                lease_share=1.0, lease_ttl_s=600), clock=clock) for name in ("a", "b")]


async def test_leases_granted_through_two_ledgers_at_once_never_exceed_the_budget(
        tmp_path: Path, clock: FrozenClock) -> None:
    async with pg_schema() as url:
        a, b = _two_ledgers(url, tmp_path, clock)
        async with a.router.lifespan_context(a), b.router.lifespan_context(b), \
                httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://a") as ca, \
                httpx.AsyncClient(transport=httpx.ASGITransport(app=b), base_url="http://b") as cb:
            made = await ca.post("/budget", params={"run_id": "run-a", "budget_usd": "1.00"})
            assert made.status_code in (200, 201)

            async def grant(n: int) -> httpx.Response:
                client = (ca, cb)[n % 2]
                lease_id = f"lease-{n % 40}"  # 40 leases, each grown through both ledgers
                return await post(client, "/leases", {"lease_id": lease_id, "run_id": "run-a",
                                                      "need_usd": Decimal("0.01"), "want_usd": Decimal("0.02")})

            answers = await asyncio.gather(*(grant(n) for n in range(240)))
            granted = [exact(r)["granted_usd"] for r in answers if r.status_code == 200]
            assert {r.status_code for r in answers} <= {200, 402}, [r.text for r in answers if r.status_code >= 500]
            assert sum(granted) <= Decimal("1.00")
            assert any(r.status_code == 402 for r in answers)  # the budget did run out
            for client in (ca, cb):
                state = exact(await client.get("/budget/run-a"))
                assert state["held_usd"] == sum(granted) and state["held_usd"] <= state["budget_usd"]

            receipts = [make_receipt("0.001", request_id=f"req-{i}") for i in range(50)]
            shipped = await asyncio.gather(*(post(c, "/receipts", {"receipts": receipts}) for c in (ca, cb, ca, cb)))
            assert sum(r.json()["accepted"] for r in shipped) == 50
            assert sum(r.json()["duplicates"] for r in shipped) == 150
            spent = exact(await cb.get("/budget/run-a"))["spent_usd"]
            assert spent == Decimal("0.05")


async def test_two_ledgers_raise_each_threshold_once_per_period(tmp_path: Path, clock: FrozenClock) -> None:
    async with pg_schema() as url:
        a, b = _two_ledgers(url, tmp_path, clock)
        async with a.router.lifespan_context(a), b.router.lifespan_context(b), \
                httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://a") as ca, \
                httpx.AsyncClient(transport=httpx.ASGITransport(app=b), base_url="http://b") as cb:
            made = await post(ca, "/budget", {"scope": "team", "scope_id": "ml", "budget_usd": "1", "period": "daily",
                                              "thresholds": [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]})
            assert made.status_code == 201, made.text
            receipts = [make_receipt("0.010000", request_id=f"team-{i}", team="ml") for i in range(100)]
            with capture_logs() as logs:
                shipped = await asyncio.gather(*(post((ca, cb)[i % 2], "/receipts", {"receipts": receipts[i::10]})
                                                 for i in range(10)))
                again = await asyncio.gather(*(post(c, "/receipts", {"receipts": receipts}) for c in (ca, cb)))
            assert sum(r.json()["accepted"] for r in shipped) == 100 and all(r.status_code == 200 for r in again)
            raised = sorted(e["threshold"] for e in logs if e["event"] == "budget_threshold_crossed")
            assert raised == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
            state = exact(await cb.get("/budgets/team/ml"))
            assert state["spent_usd"] == 1 and [e["threshold"] for e in state["events"]] == raised
