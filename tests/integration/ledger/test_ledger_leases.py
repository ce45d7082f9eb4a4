"""Leases: a gateway's slice of a run budget, grown, consumed by receipts, returned, capped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import jsonschema
import pytest

from services.common import contracts
from services.common.clock import FrozenClock
from tests.integration.ledger.ledger_factory import error_of, exact, make_receipt, post

GRANT = contracts.schema("lease_grant")


@pytest.fixture
async def client(ledger_at: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A ledger granting all that is wanted when it fits (share 1), leases living 600 s: these
    tests pin that arithmetic; the share's and the TTL's own tests ask for their ledger."""
    async with ledger_at(lease_share=1.0, lease_ttl_s=600) as c:
        yield c


async def budget(client: httpx.AsyncClient, amount: str, run_id: str = "run-a") -> None:
    resp = await client.post("/budget", params={"run_id": run_id, "budget_usd": amount})
    assert resp.status_code in (200, 201)


async def lease(client: httpx.AsyncClient, lease_id: str, need: str, want: str,
                run_id: str = "run-a") -> httpx.Response:
    return await post(client, "/leases", {"lease_id": lease_id, "run_id": run_id,
                                          "need_usd": Decimal(need), "want_usd": Decimal(want)})


async def give_back(client: httpx.AsyncClient, lease_id: str, amount: str) -> httpx.Response:
    return await post(client, f"/leases/{lease_id}/return", {"amount_usd": Decimal(amount)})


async def held(client: httpx.AsyncClient, run_id: str = "run-a") -> Decimal:
    held_usd: Decimal = exact(await client.get(f"/budget/{run_id}"))["held_usd"]
    return held_usd


async def test_a_run_without_budget_grants_nothing(client: httpx.AsyncClient) -> None:
    resp = await lease(client, "gw1.1", "0.1", "1")
    assert resp.status_code == 200
    assert resp.json() == {"lease_id": "gw1.1", "budgeted": False}


async def test_a_lease_grants_what_is_wanted_and_counts_as_held(client: httpx.AsyncClient,
                                                                clock: FrozenClock) -> None:
    await budget(client, "1")
    resp = await lease(client, "gw1.1", "0.01", "0.3")
    assert resp.status_code == 200
    jsonschema.validate(resp.json(), GRANT)
    body = exact(resp)
    assert (body["granted_usd"], body["lease_usd"]) == (Decimal("0.3"), Decimal("0.3"))
    assert body["expires_at"] == "2026-11-23T10:40:15.000Z"  # hold_ttl_s = 600 by default
    assert body["budget"]["held_usd"] == Decimal("0.3")
    grown = exact(await lease(client, "gw1.1", "0", "0.2"))
    assert (grown["granted_usd"], grown["lease_usd"]) == (Decimal("0.2"), Decimal("0.5"))
    assert await held(client) == Decimal("0.5")


async def test_a_grant_is_capped_by_what_is_left_and_refused_below_need(client: httpx.AsyncClient) -> None:
    await budget(client, "1")
    await post(client, "/receipts", {"receipts": [make_receipt("0.600000")]})
    first = exact(await lease(client, "gw1.1", "0.1", "5"))
    assert first["granted_usd"] == Decimal("0.4")  # all that is left, not the 5 wanted
    other_gateway = await lease(client, "gw2.1", "0.000001", "1")
    assert other_gateway.status_code == 402
    err = error_of(other_gateway)
    assert err["type"] == "budget_exceeded" and "$0.60 is spent and $0.40 held for requests" in err["message"]
    assert err["message"].endswith("this request could cost up to $0.000001")  # no worst_usd: the need
    worst = await post(client, "/leases", {"lease_id": "gw2.1", "run_id": "run-a", "need_usd": Decimal("0.01"),
                                           "want_usd": Decimal("0.5"), "worst_usd": Decimal("0.05")})
    assert worst.status_code == 402
    err = error_of(worst)
    assert err["message"] == ("run run-a's budget is $1.00; $0.60 is spent and $0.40 held for requests in flight;"
                              " this request could cost up to $0.05")  # the request's worst case, not the need
    assert (err["worst_case_usd"], err["needed_usd"]) == (0.05, 0.01)
    renew = exact(await lease(client, "gw2.1", "0", "1"))  # need 0: renews, grants what is left
    assert renew["granted_usd"] == 0


async def test_receipts_move_the_leases_money_from_held_to_spent(client: httpx.AsyncClient) -> None:
    await budget(client, "1")
    await lease(client, "gw1.1", "0", "0.5")
    receipts = [make_receipt("0.120000", lease_ids=["gw1.1"]), make_receipt("0.030000", lease_ids=["gw1.1"])]
    assert (await post(client, "/receipts", {"receipts": receipts})).status_code == 200
    status = exact(await client.get("/budget/run-a"))
    assert (status["spent_usd"], status["held_usd"]) == (Decimal("0.15"), Decimal("0.35"))
    # a receipt delivered twice consumes once
    await post(client, "/receipts", {"receipts": receipts[:1]})
    assert await held(client) == Decimal("0.35")
    returned = exact(await give_back(client, "gw1.1", "0.35"))
    assert (returned["returned_usd"], returned["lease_usd"]) == (Decimal("0.35"), 0)
    status = exact(await client.get("/budget/run-a"))
    assert (status["spent_usd"], status["held_usd"], status["remaining_usd"]) == (Decimal("0.15"), 0,
                                                                                  Decimal("0.85"))


async def test_a_receipt_never_takes_a_lease_below_zero(client: httpx.AsyncClient) -> None:
    await budget(client, "1")
    await lease(client, "gw1.1", "0", "0.1")
    await give_back(client, "gw1.1", "0.08")
    await post(client, "/receipts", {"receipts": [make_receipt("0.050000", lease_ids=["gw1.1"])]})
    status = exact(await client.get("/budget/run-a"))
    assert (status["spent_usd"], status["held_usd"]) == (Decimal("0.05"), 0)


async def test_returning_more_than_held_returns_what_is_held(client: httpx.AsyncClient) -> None:
    await budget(client, "1")
    await lease(client, "gw1.1", "0", "0.1")
    body = exact(await give_back(client, "gw1.1", "5"))
    assert (body["returned_usd"], body["lease_usd"]) == (Decimal("0.1"), 0)
    missing = await give_back(client, "nope", "1")
    assert missing.status_code == 404 and "nope" in error_of(missing)["message"]


async def test_a_lease_expires_when_not_renewed(client: httpx.AsyncClient, clock: FrozenClock) -> None:
    await budget(client, "1")
    await lease(client, "gw1.1", "0", "0.4")
    clock.set(clock.now() + timedelta(seconds=599))
    await lease(client, "gw1.1", "0", "0")  # renewal pushes expiry out again
    clock.set(clock.now() + timedelta(seconds=599))
    assert await held(client) == Decimal("0.4")
    clock.set(clock.now() + timedelta(seconds=2))
    assert await held(client) == 0


async def test_bad_lease_requests_are_refused_clearly(client: httpx.AsyncClient) -> None:
    await budget(client, "1")
    inverted = await lease(client, "gw1.1", "0.5", "0.1")
    assert inverted.status_code == 400 and error_of(inverted)["field"] == "want_usd"
    unsafe = await post(client, "/leases", {"lease_id": "../x", "run_id": "run-a", "need_usd": 0, "want_usd": 1})
    assert unsafe.status_code == 400 and error_of(unsafe)["field"] == "lease_id"
    fine = await lease(client, "gw1.1", "0", "0.1")
    other_run = await lease(client, "gw1.1", "0", "0.1", run_id="run-b")
    assert fine.status_code == 200 and other_run.status_code in (200, 409)
    await budget(client, "1", run_id="run-b")
    assert (await lease(client, "gw1.1", "0", "0.1", run_id="run-b")).status_code == 409


async def test_concurrent_grants_from_many_gateways_never_exceed_the_budget(client: httpx.AsyncClient) -> None:
    await budget(client, "1")
    results = await asyncio.gather(*[lease(client, f"gw{i}.1", "0.01", "0.07") for i in range(40)])
    granted = sum((exact(r)["granted_usd"] for r in results if r.status_code == 200), Decimal(0))
    assert granted == Decimal("1")  # every cent leased, not one more
    assert {r.status_code for r in results} == {200, 402}
    assert await held(client) == Decimal("1")


async def test_a_grant_is_at_most_a_share_of_what_is_left_so_gateways_share_a_small_budget(ledger_at: Any) -> None:
    async with ledger_at(lease_share=0.25) as client:
        await budget(client, "0.01")
        first = exact(await lease(client, "gw1.1", "0.0001", "1"))  # wants everything
        assert first["granted_usd"] == Decimal("0.0025")  # a quarter of $0.01
        second = exact(await lease(client, "gw2.1", "0.0001", "1"))
        assert second["granted_usd"] == Decimal("0.001875")  # a quarter of the $0.0075 left
        big_need = exact(await lease(client, "gw2.1", "0.005", "0.005"))  # a need beyond the share is granted whole
        assert big_need["granted_usd"] == Decimal("0.005")
        assert (await held(client)) == Decimal("0.009375")


async def test_a_lease_lives_its_own_short_ttl_not_a_holds(ledger_at: Any, clock: FrozenClock) -> None:
    async with ledger_at(lease_ttl_s=20, hold_ttl_s=600) as client:
        await budget(client, "1")
        exact(await lease(client, "gw1.1", "0.1", "0.1"))
        clock.set(clock.now() + timedelta(seconds=19))
        assert (await held(client)) == Decimal("0.1")
        clock.set(clock.now() + timedelta(seconds=2))  # a dead gateway's lease: back within its TTL
        assert (await held(client)) == Decimal(0)
