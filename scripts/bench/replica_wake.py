"""How long a change made through one replica takes to wake a snapshot long-poll held by another
on the same PostgreSQL (LISTEN/NOTIFY, services/common/db_watch.py): two routers and two ledgers
in-process on a fresh schema, N rounds each; prints p50/p99/max in ms.

    .venv/bin/python -m scripts.bench.replica_wake [rounds]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

import httpx

from services.common.settings import Settings
from tests.integration.router.router_support import provider
from tests.pg import pg_schema
from tests.replicas import woken_by


async def pair(stack: AsyncExitStack, factory, url: str, root: Path) -> list[httpx.AsyncClient]:
    clients = []
    for name in ("a", "b"):
        app = factory(Settings(artifacts_dir=root / name, access_log=False, database_url=url,
                               health_check_interval_s=0))
        await stack.enter_async_context(app.router.lifespan_context(app))
        clients.append(await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")))
    return clients


def summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    return (f"{name}: n={len(ms)} p50 {statistics.median(ms):.1f} ms, p99 {ms[int(len(ms) * 0.99) - 1]:.1f} ms,"
            f" max {ms[-1]:.1f} ms")


async def main(rounds: int) -> None:
    from services.ledger.app import create_app as ledger_app
    from services.router.app import create_app as router_app

    async with pg_schema() as url, AsyncExitStack() as stack:
        root = Path(tempfile.mkdtemp())
        ra, rb = await pair(stack, router_app, url, root / "router")
        la, lb = await pair(stack, ledger_app, url, root / "ledger")
        router, budgets = [], []
        for i in range(rounds):
            router.append((await woken_by(rb, "/registry/snapshot",
                                          lambda i=i: ra.post("/register", json=provider(f"p{i}"))))[0])
            budgets.append((await woken_by(lb, "/budgets/snapshot", lambda i=i: la.post(
                "/budget", params={"run_id": "run-a", "budget_usd": f"{i + 1}.00"})))[0])
        print(summary("router A register -> router B long-poll", router))
        print(summary("ledger A budget -> ledger B long-poll", budgets))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50))
