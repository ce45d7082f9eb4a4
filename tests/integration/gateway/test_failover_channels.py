"""Every channel from the gateway to a service with several addresses fails over: lease grants,
receipt shipping and snapshot following go on with the next ledger, outcome reports with the next
router, when one is down (refused connections) or cannot serve (a 5xx), and a failed address is
skipped for its back-off. Real HTTP against small aiohttp services on free ports."""

from __future__ import annotations

import socket
from collections import Counter
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from aiohttp import web

from services.common.errors import DependencyUnavailable
from services.gateway.budgets.ledger_client import LedgerBudgetClient
from services.gateway.failover import Addresses
from services.gateway.outcomes.reporter import OutcomeReporter
from services.gateway.receipts.shipper import ReceiptShipper
from services.gateway.receipts.writer import ReceiptWriter
from services.gateway.snapshots.follower import SnapshotFollower
from tests.integration.gateway.aiohttp_server import serving
from tests.integration.ledger.ledger_factory import make_receipt


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeLedger:
    """Answers leases, receipts and a snapshot, or 503 to everything when `broken`; counts calls."""

    def __init__(self, name: str, *, broken: bool = False) -> None:
        self.name, self.broken = name, broken
        self.hits: Counter[str] = Counter()
        self.receipts: list[dict[str, Any]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        self.hits[request.path] += 1
        if self.broken:
            return web.json_response({"error": {"type": "database_unavailable", "message": "db away"}}, status=503)
        if request.path == "/leases":
            return web.json_response({"budgeted": True, "granted_usd": "0.250000", "by": self.name})
        if request.path == "/receipts":
            self.receipts += (await request.json())["receipts"]
            return web.json_response({"accepted": len(self.receipts)})
        if request.path == "/outcomes":
            self.receipts += (await request.json())["outcomes"]
            return web.json_response({"accepted": True})
        if request.path == "/budgets/snapshot":
            return web.json_response({"version": 7, "by": self.name})
        return web.json_response({}, status=404)


async def ledgers(stack: AsyncExitStack, *fakes: FakeLedger) -> list[str]:
    return [f"http://127.0.0.1:{await stack.enter_async_context(serving(f.app()))}" for f in fakes]


async def test_lease_grants_go_on_with_the_next_ledger_and_skip_a_failed_one():
    broken, good = FakeLedger("broken", broken=True), FakeLedger("good")
    async with AsyncExitStack() as stack:
        urls = [f"http://127.0.0.1:{closed_port()}", *await ledgers(stack, broken, good)]
        book = Addresses("ledger", urls, backoff_s=60.0)
        client = LedgerBudgetClient(book, 2.0)
        try:
            for i in range(5):
                grant = await client.grow(f"lease-{i}", "run:r", 10, 250_000, f"req-{i}")
                assert grant.budgeted and grant.micros == 250_000
        finally:
            await client.close()
    assert good.hits["/leases"] == 5
    assert broken.hits["/leases"] == 1, "a ledger that answered 503 was asked again within its back-off"
    assert book.current == urls[2]


async def test_receipts_ship_to_the_next_ledger_and_none_is_lost(tmp_path):
    broken, good = FakeLedger("broken", broken=True), FakeLedger("good")
    writer = ReceiptWriter(tmp_path / "costs")
    sent = [make_receipt(run_id="fo", request_id=f"r-{i}") for i in range(12)]
    for r in sent:
        writer.write(r)
    async with AsyncExitStack() as stack:
        urls = [*await ledgers(stack, broken), f"http://127.0.0.1:{closed_port()}", *await ledgers(stack, good)]
        shipper = ReceiptShipper(tmp_path / "costs", tmp_path / "gw" / "shipped.json", ",".join(urls),
                                 batch_size=5, interval_s=0.05, rejected_file=tmp_path / "rejected.jsonl")
        async with httpx.AsyncClient() as client:
            await shipper.ship_once(client)
    assert [r["request_id"] for r in good.receipts] == [r["request_id"] for r in sent]
    assert broken.hits["/receipts"] == 1 and shipper.shipped == 12 and not shipper.dirty


async def test_the_snapshot_is_followed_on_the_next_ledger_when_one_is_down(tmp_path):
    good = FakeLedger("good")
    async with AsyncExitStack() as stack:
        urls = [f"http://127.0.0.1:{closed_port()}", *await ledgers(stack, good)]
        follower: SnapshotFollower[dict[str, Any]] = SnapshotFollower(
            "budgets", ",".join(urls), "/budgets/snapshot", lambda d: d, {}, cache_file=tmp_path / "b.json",
            wait_s=0.1)
        async with httpx.AsyncClient() as client:
            await follower.refresh(client)
    assert follower.value == {"version": 7, "by": "good"} and follower.version == 7
    assert follower.url == urls[1] + "/budgets/snapshot"


async def test_every_ledger_down_is_one_503_naming_the_budget(tmp_path):
    book = Addresses("ledger", [f"http://127.0.0.1:{closed_port()}", f"http://127.0.0.1:{closed_port()}"])
    client = LedgerBudgetClient(book, 1.0)
    try:
        with pytest.raises(DependencyUnavailable) as refused:
            await client.grow("lease-x", "run:capped", 10, 100, "req-x")
        assert refused.value.status == 503 and "run capped" in str(refused.value)
    finally:
        await client.close()


async def test_outcome_reports_go_to_the_next_router():
    broken, good = FakeLedger("broken-router", broken=True), FakeLedger("good-router")
    async with AsyncExitStack() as stack:
        urls = [f"http://127.0.0.1:{closed_port()}", *await ledgers(stack, broken, good)]
        reporter = OutcomeReporter(",".join(urls), interval_s=1, batch_size=2)
        for i in range(3):
            reporter.observe({"timestamp": "2026-12-02T00:00:00Z", "attempts": [
                {"provider": f"p{i}", "status": "success", "http_status": 200, "latency_ms": 5.0}]})
        async with httpx.AsyncClient() as client:
            await reporter.flush(client)
    assert [o["provider"] for o in good.receipts] == ["p0", "p1", "p2"]
    assert broken.hits["/outcomes"] == 1 and reporter.sent == 3 and not reporter.buffer
