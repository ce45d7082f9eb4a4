"""The gateway's budget calls while the ledger is down: a 503 with a Retry-After, and a log that
says so once, then at most every few seconds with what it left out, and once when it is back."""

from __future__ import annotations

import socket

import pytest
from aiohttp import web
from structlog.testing import capture_logs

from services.common.errors import DependencyUnavailable
from services.common.loss_log import LOG_EVERY_S, LossLog
from services.gateway.budgets.ledger_client import RETRY_AFTER_S, LeaseGone, LedgerBudgetClient
from tests.integration.gateway.aiohttp_server import serving


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _ledger_log(clock: Clock) -> LossLog:
    """As the client keeps it (LedgerBudgetClient.unreachable), on a clock the test moves."""
    book = LedgerBudgetClient("http://127.0.0.1:1", 1.0).unreachable
    book.clock = clock
    return book


def test_thousands_of_failures_make_a_few_lines_that_count_them_all():
    """As measured: 3,561 requests refused in 13 s while the ledger was down."""
    clock = Clock()
    book = _ledger_log(clock)
    with capture_logs() as logs:
        for i in range(3561):
            clock.now = 1000.0 + i * 13 / 3561
            book.failed(budget="run:r", path="/leases", error="ConnectFailed()")
        clock.now = 1013.5
        book.reached()
        book.reached()  # nothing more to say
    events = [(x["event"], x.get("suppressed")) for x in logs]
    assert [e for e, _ in events] == ["ledger_unreachable", "ledger_still_unreachable", "ledger_still_unreachable",
                                      "ledger_reachable_again"]
    assert len(logs) - 1 + sum(s or 0 for _, s in events) == 3561  # each failure: a line or a count
    assert logs[-1]["failures"] == 3561 and logs[-1]["down_s"] == 13.5
    assert logs[1]["down_s"] >= LOG_EVERY_S and logs[0]["budget"] == "run:r"


def test_down_again_after_it_came_back_is_said_again():
    clock = Clock()
    book = _ledger_log(clock)
    with capture_logs() as logs:
        book.failed()
        book.failed()
        book.reached()
        clock.now += 1
        book.failed()
    assert [x["event"] for x in logs] == ["ledger_unreachable", "ledger_reachable_again", "ledger_unreachable"]
    assert logs[1]["suppressed"] == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_an_unreachable_ledger_is_a_503_with_retry_after():
    client = LedgerBudgetClient(f"http://127.0.0.1:{_closed_port()}", 1.0)
    try:
        with capture_logs() as logs:
            for _ in range(5):
                with pytest.raises(DependencyUnavailable) as refused:
                    await client.grow("lease-1", "run:r", 10, 100, "req-1")
                assert refused.value.status == 503
                assert refused.value.headers == {"retry-after": str(RETRY_AFTER_S)}
        assert [x["event"] for x in logs] == ["ledger_unreachable"]
    finally:
        await client.close()


async def test_a_give_back_the_ledger_answers_404_is_lease_gone_and_a_grant_states_the_lease():
    """The ledger's 404 on a return (the lease lapsed) is told apart from a ledger that is away: the
    book drops such a lease instead of retrying; a grant and a return carry what the lease holds."""
    async def handle(request: web.Request) -> web.Response:
        if request.path == "/leases":
            return web.json_response({"lease_id": "gw1.1", "budgeted": True, "granted_usd": "0.25",
                                      "lease_usd": "0.4", "expires_at": "2026-12-02T10:00:00.000Z"})
        if request.path == "/leases/gw1.1/return":
            return web.json_response({"lease_id": "gw1.1", "budgeted": True, "returned_usd": "0.1",
                                      "lease_usd": "0.3", "expires_at": "2026-12-02T10:00:00.000Z"})
        return web.json_response({"error": {"type": "not_found", "message": "no lease gw1.2 (unknown or expired)"}},
                                 status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    async with serving(app) as port:
        client = LedgerBudgetClient(f"http://127.0.0.1:{port}", 2.0)
        try:
            grant = await client.grow("gw1.1", "run:r", 0, 250_000, "req-1")
            assert (grant.micros, grant.lease_micros) == (250_000, 400_000)
            returned = await client.give_back("gw1.1", "run:r", 100_000)
            assert (returned.micros, returned.lease_micros) == (100_000, 300_000)
            with pytest.raises(LeaseGone) as gone:
                await client.give_back("gw1.2", "run:r", 100_000)
            assert gone.value.status == 404 and "gw1.2" in gone.value.message
        finally:
            await client.close()
