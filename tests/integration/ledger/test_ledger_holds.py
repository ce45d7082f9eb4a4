"""Holds, the hard cap: fit, refuse, idempotent, settle, release, expire, and under concurrency."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import httpx
import jsonschema

from services.common import contracts
from services.common.clock import FrozenClock
from tests.integration.ledger.ledger_factory import error_of, exact, make_receipt, post

STATUS = contracts.schema("budget_status")


async def budget(client: httpx.AsyncClient, amount: str, run_id: str = "run-a") -> None:
    resp = await client.post("/budget", params={"run_id": run_id, "budget_usd": amount})
    assert resp.status_code in (200, 201)


async def hold(client: httpx.AsyncClient, hold_id: str, amount: str,
               run_id: str = "run-a") -> httpx.Response:
    return await post(client, "/holds", {"hold_id": hold_id, "run_id": run_id,
                                         "amount_usd": Decimal(amount)})


async def test_a_run_without_budget_needs_no_hold(client: httpx.AsyncClient) -> None:
    resp = await hold(client, "h1", "5")
    assert resp.status_code == 200
    assert resp.json() == {"hold_id": "h1", "held": False}


async def test_a_hold_that_fits_is_reserved_and_counted(client: httpx.AsyncClient,
                                                        clock: FrozenClock) -> None:
    await budget(client, "1")
    resp = await hold(client, "h1", "0.250000")
    assert resp.status_code == 201
    body = exact(resp)
    assert (body["hold_id"], body["held"], body["amount_usd"]) == ("h1", True, Decimal("0.25"))
    assert body["expires_at"] == "2026-11-23T10:40:15.000Z"  # hold_ttl_s = 600 by default
    jsonschema.validate(resp.json()["budget"], STATUS)
    status = exact(await client.get("/budget/run-a"))
    assert (status["held_usd"], status["remaining_usd"]) == (Decimal("0.25"), Decimal("0.75"))
    assert status["spent_usd"] == 0 and status["percent"] == 0  # holds are not spend


async def test_a_hold_that_does_not_fit_is_refused_with_402(client: httpx.AsyncClient) -> None:
    await budget(client, "1")
    await post(client, "/receipts", {"receipts": [make_receipt("0.600000")]})
    assert (await hold(client, "h1", "0.300000")).status_code == 201
    refused = await hold(client, "h2", "0.100001")
    assert refused.status_code == 402
    err = error_of(refused)
    assert err["type"] == "budget_exceeded"
    assert err["message"] == ("run run-a's budget is $1.00; $0.60 is spent and $0.30 held for requests in flight;"
                              " this request could cost up to $0.100001")
    assert (err["remaining_usd"], err["needed_usd"], err["worst_case_usd"]) == (0.1, 0.100001, 0.100001)
    assert (await hold(client, "h3", "0.100000")).status_code == 201  # exactly to the cap
    assert exact(await client.get("/budget/run-a"))["remaining_usd"] == 0


async def test_the_same_hold_twice_reserves_once(client: httpx.AsyncClient) -> None:
    await budget(client, "1")
    first = await hold(client, "h1", "0.6")
    again = await hold(client, "h1", "0.6")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["held"] is True
    assert exact(await client.get("/budget/run-a"))["held_usd"] == Decimal("0.6")
    other = await hold(client, "h1", "0.7")
    assert other.status_code == 409 and error_of(other)["type"] == "conflict"


async def test_settle_books_the_receipt_and_frees_the_hold(client: httpx.AsyncClient) -> None:
    await budget(client, "1")
    await hold(client, "req-1", "0.5")
    receipt = make_receipt("0.123456", request_id="req-1")
    resp = await post(client, "/holds/req-1/settle", receipt)
    assert resp.status_code == 200
    jsonschema.validate(resp.json(), STATUS)
    body = exact(resp)
    assert (body["spent_usd"], body["held_usd"]) == (Decimal("0.123456"), 0)
    again = await post(client, "/holds/req-1/settle", receipt)  # a retried settle
    assert exact(again)["spent_usd"] == Decimal("0.123456")
    assert (await client.get("/receipts/run-a")).json()["count"] == 1
    assert (await hold(client, "req-1", "0.5")).status_code == 409  # already settled


async def test_settling_an_unknown_hold_still_books_the_receipt(client: httpx.AsyncClient) -> None:
    resp = await post(client, "/holds/gone/settle", make_receipt("0.2", request_id="gone"))
    assert resp.json() == {"budgeted": False}
    assert exact(await client.get("/receipts/run-a"))["total_cost_usd"] == Decimal("0.2")


async def test_shipping_the_receipt_in_a_batch_also_settles_its_hold(
        client: httpx.AsyncClient) -> None:
    await budget(client, "1")
    await hold(client, "req-9", "0.9")
    await post(client, "/receipts", {"receipts": [make_receipt("0.1", request_id="req-9")]})
    status = exact(await client.get("/budget/run-a"))
    assert (status["spent_usd"], status["held_usd"]) == (Decimal("0.1"), 0)


async def test_release_frees_a_hold_without_a_receipt(client: httpx.AsyncClient) -> None:
    await budget(client, "1")
    await hold(client, "h1", "1")
    assert (await hold(client, "h2", "0.000001")).status_code == 402
    released = await client.delete("/holds/h1")
    assert released.json() == {"hold_id": "h1", "released": True}
    assert (await hold(client, "h2", "0.000001")).status_code == 201
    assert error_of(await client.delete("/holds/h1"))["type"] == "not_found"
    assert (await client.get("/receipts/run-a")).json()["count"] == 0


async def test_holds_expire_after_the_ttl(ledger_at, clock: FrozenClock) -> None:
    async with ledger_at(hold_ttl_s=30) as client:
        await budget(client, "1")
        await hold(client, "h1", "1")
        clock.set(clock.now() + timedelta(seconds=29))
        assert (await hold(client, "h2", "0.5")).status_code == 402
        clock.set(clock.now() + timedelta(seconds=1))
        assert exact(await client.get("/budget/run-a"))["held_usd"] == 0
        assert (await hold(client, "h2", "0.5")).status_code == 201
        assert (await client.delete("/holds/h1")).status_code == 404


async def test_100_concurrent_holds_never_reserve_past_the_budget(
        client: httpx.AsyncClient) -> None:
    await budget(client, "10")
    await post(client, "/receipts", {"receipts": [make_receipt("9.900000")]})  # 0.1 left
    responses = await asyncio.gather(*(hold(client, f"c{i}", "0.003000") for i in range(100)))
    codes = [r.status_code for r in responses]
    assert set(codes) == {201, 402}
    assert codes.count(201) == 33  # floor(0.1 / 0.003): every hold that fit, none more
    status = exact(await client.get("/budget/run-a"))
    assert status["spent_usd"] + status["held_usd"] <= status["budget_usd"]
    assert status["held_usd"] == Decimal("0.099")


async def test_concurrent_settles_and_holds_keep_spend_plus_holds_under_the_cap(
        client: httpx.AsyncClient) -> None:
    await budget(client, "1")

    async def request(i: int) -> bool:
        if (await hold(client, f"r{i}", "0.05")).status_code != 201:
            return False
        await post(client, f"/holds/r{i}/settle", make_receipt("0.04", request_id=f"r{i}"))
        return True

    settled = sum(await asyncio.gather(*(request(i) for i in range(60))))
    status = exact(await client.get("/budget/run-a"))
    assert status["held_usd"] == 0
    assert status["spent_usd"] == Decimal("0.04") * settled <= status["budget_usd"]
    assert settled >= 20  # at least every hold that fit before any settle


async def test_two_ledgers_on_one_database_file_never_over_reserve(ledger_at) -> None:
    async with ledger_at() as one, ledger_at() as two:
        await budget(one, "1")
        responses = await asyncio.gather(*(hold(one if i % 2 else two, f"x{i}", "0.030000")
                                           for i in range(100)))
        assert [r.status_code for r in responses].count(201) == 33
        for client in (one, two):
            assert exact(await client.get("/budget/run-a"))["held_usd"] == Decimal("0.99")
