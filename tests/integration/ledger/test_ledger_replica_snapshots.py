"""Two ledgers on one PostgreSQL schema: a key revoked (or created) through ledger A, and a budget
set or changed there, wake the gateways' snapshot long-polls held by ledger B within 1 s
(LISTEN/NOTIFY: docs/storage.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest

from services.common.clock import FrozenClock
from services.common.settings import Settings
from services.ledger.app import create_app
from tests.pg import pg_schema
from tests.replicas import woken_by


@pytest.fixture
async def ledgers(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with pg_schema() as url, AsyncExitStack() as stack:
        clients = []
        for name in ("a", "b"):
            app = create_app(Settings(artifacts_dir=tmp_path / name, access_log=False, database_url=url), clock=clock)
            await stack.enter_async_context(app.router.lifespan_context(app))
            clients.append(await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")))
        yield clients[0], clients[1]


async def test_a_key_revoked_on_a_is_gone_from_b_s_snapshot_within_a_second(ledgers) -> None:
    a, b = ledgers
    made = {}

    async def create() -> None:
        made.update((await a.post("/keys", json={"name": "bot", "user": "ann"})).json())

    elapsed, snap = await woken_by(b, "/keys/snapshot", create)
    assert elapsed < 1.0, elapsed
    assert [k["key_id"] for k in snap["keys"]] == [made["key_id"]]
    elapsed, snap = await woken_by(b, "/keys/snapshot", lambda: a.delete(f"/keys/{made['key_id']}"))
    assert elapsed < 1.0, elapsed
    assert all(k["key_id"] != made["key_id"] or k.get("revoked_us") or k.get("revoked") for k in snap["keys"]), snap


async def test_a_budget_set_or_changed_on_a_reaches_b_within_a_second(ledgers) -> None:
    a, b = ledgers
    elapsed, snap = await woken_by(b, "/budgets/snapshot",
                                   lambda: a.post("/budget", params={"run_id": "run-a", "budget_usd": "1.00"}))
    assert elapsed < 1.0, elapsed
    assert snap["run_ids"] == ["run-a"]
    elapsed, snap = await woken_by(b, "/budgets/snapshot",
                                   lambda: a.post("/budget", params={"run_id": "run-a", "budget_usd": "2.50"}))
    assert elapsed < 1.0, elapsed
    assert snap["caps"]
