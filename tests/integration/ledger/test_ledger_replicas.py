"""Two ledgers on one PostgreSQL: leases granted through both at once never add up past the budget
(each grant locks the budget's row), and a receipt shipped to both is counted once."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
from fastapi import FastAPI
from structlog.testing import capture_logs

from services.common.clock import FrozenClock
from services.common.settings import Settings
from services.ledger.app import create_app
from services.ledger.budgets.model import BudgetKey
from services.ledger.receipts.parse import Receipt
from services.ledger.store.postgres.store import PostgresLedgerStore
from tests.integration.ledger.conftest import pg_schema
from tests.integration.ledger.ledger_factory import exact, make_receipt, post

NOW_US = 1_795_000_000_000_000


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


async def test_a_receipt_committed_by_another_ledger_mid_batch_is_counted_once(tmp_path: Path) -> None:
    """Ledger B's batch holds a receipt that ledger A has written but not yet committed: B's write
    waits on it, fails on the primary key once A commits, and is run again from the start, seeing
    it then (services/ledger/store/postgres/ingest.py): one row, its cost counted once, by A."""
    def receipt(request_id: str, cost: int) -> Receipt:
        return Receipt(request_id=request_id, run_id="run-race", ts_us=NOW_US - 1_000, provider="p1", input_tokens=10,
                       output_tokens=5, cost_micros=cost, body=b'{"request_id":"%s"}' % request_id.encode())

    async with pg_schema() as url:
        a, b = (PostgresLedgerStore(f"{url}&application_name=race-{name}") for name in "ab")
        await a.open()
        await b.open()
        blocker = await asyncpg.connect(url)
        try:
            await a.set_budget(BudgetKey.run("run-race"), 10**9, NOW_US)
            assert (await a.ingest([receipt("first", 1)], NOW_US)).accepted == 1  # the run's spend row exists
            async with blocker.transaction():  # holds A's transaction open after its receipts are written
                await blocker.execute("SELECT 1 FROM spend WHERE scope = 'run' AND scope_id = 'run-race' FOR UPDATE")
                by_a = asyncio.ensure_future(a.ingest([receipt("both", 20)], NOW_US))
                await _waiting_on_a_lock(blocker, "race-a")
                by_b = asyncio.ensure_future(b.ingest([receipt("both", 20), receipt("only-b", 300)], NOW_US))
                await _waiting_on_a_lock(blocker, "race-b")  # on A's uncommitted row
            first, second = await by_a, await by_b
            assert (first.accepted, first.duplicates) == (1, 0)
            assert (second.accepted, second.duplicates) == (1, 1) and [r.request_id for r in second.new] == ["only-b"]
            assert await blocker.fetchval("SELECT COUNT(*) FROM receipts") == 3
            state = await b.budget(BudgetKey.run("run-race"), NOW_US)
            assert state is not None and state.spent_micros == 321
            minute = await b.rollups("minute", 0, NOW_US)
            assert sum(t.requests for _, _, t in minute) == 3 and sum(t.cost_micros for _, _, t in minute) == 321
        finally:
            await blocker.close()
            await a.close()
            await b.close()


async def _waiting_on_a_lock(conn: asyncpg.Connection, application: str) -> None:
    """Until a session of `application` waits on a lock (at most 5 s)."""
    for _ in range(500):
        if await conn.fetchval("SELECT true FROM pg_stat_activity WHERE application_name = $1"
                               " AND wait_event_type = 'Lock'", application):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{application} never waited on a lock")
