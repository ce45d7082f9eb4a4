"""GET /budgets/snapshot: the set of budgeted runs, long-polled, with a version that persists."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import jsonschema

from services.common import contracts
from tests.integration.ledger.ledger_factory import error_of

SNAPSHOT = contracts.schema("budget_snapshot")


def snap(version: int, run_ids: list[str]) -> dict:
    scopes = ("key", "user", "team", "org", "provider", "model", "global")
    return {"version": version, "run_ids": run_ids, "scoped": {scope: [] for scope in scopes}}


async def snapshot(client: httpx.AsyncClient, **params: Any) -> dict:
    """The snapshot without its caps (the tests of the set of budgets and its version)."""
    resp = await client.get("/budgets/snapshot", params=params)
    assert resp.status_code == 200, resp.text
    jsonschema.validate(resp.json(), SNAPSHOT)
    body = resp.json()
    body.pop("caps")
    return body


async def test_the_snapshot_carries_every_budgets_cap_and_a_changed_cap_moves_the_version(
        client: httpx.AsyncClient) -> None:
    await client.post("/budget", params={"run_id": "run-a", "budget_usd": "1.25"})
    await client.post("/budget", json={"scope": "team", "scope_id": "ml", "budget_usd": "50"})
    first = (await client.get("/budgets/snapshot")).json()
    assert first["caps"] == {"run:run-a": 1.25, "team:ml": 50}
    await client.post("/budget", params={"run_id": "run-a", "budget_usd": "0.5"})  # lowered
    second = (await client.get("/budgets/snapshot")).json()
    assert second["caps"]["run:run-a"] == 0.5 and second["version"] == first["version"] + 1


async def test_a_waiting_poll_answers_as_soon_as_a_budget_changes(
        client: httpx.AsyncClient) -> None:
    assert await snapshot(client) == snap(0, [])
    waiter = asyncio.create_task(snapshot(client, after=0, wait=30))
    await asyncio.sleep(0.05)
    assert not waiter.done()  # it is holding: nothing changed yet
    await client.post("/budget", params={"run_id": "run-a", "budget_usd": "1"})
    assert await asyncio.wait_for(waiter, 5) == snap(1, ["run-a"])


async def test_a_poll_with_an_old_or_unknown_version_answers_at_once(
        client: httpx.AsyncClient) -> None:
    await client.post("/budget", params={"run_id": "run-a", "budget_usd": "1"})
    for after in (0, 99):
        body = await asyncio.wait_for(snapshot(client, after=after, wait=60), 5)
        assert body == snap(1, ["run-a"])


async def test_a_poll_with_nothing_new_returns_the_same_snapshot_at_the_deadline(
        client: httpx.AsyncClient) -> None:
    body = await asyncio.wait_for(snapshot(client, after=0, wait=0.05), 5)
    assert body == snap(0, [])


async def test_every_change_bumps_the_version_and_an_unchanged_amount_does_not(
        client: httpx.AsyncClient) -> None:
    await client.post("/budget", params={"run_id": "a", "budget_usd": "1"})
    await client.post("/budget", params={"run_id": "a", "budget_usd": "1.000000"})
    assert (await snapshot(client))["version"] == 1
    await client.post("/budget", params={"run_id": "a", "budget_usd": "2"})
    await client.post("/budget", params={"run_id": "b", "budget_usd": "2"})
    await client.delete("/budget/a")
    assert await snapshot(client) == snap(4, ["b"])


async def test_the_version_survives_a_restart_and_never_goes_back(ledger_at) -> None:
    async with ledger_at() as client:
        await client.post("/budget", params={"run_id": "a", "budget_usd": "1"})
        await client.delete("/budget/a")
        assert (await snapshot(client))["version"] == 2
    async with ledger_at() as client:
        assert await snapshot(client) == snap(2, [])
        waiter = asyncio.create_task(snapshot(client, after=2, wait=30))
        await asyncio.sleep(0.05)
        assert not waiter.done()  # the restored version is the one waiters block on
        await client.post("/budget", params={"run_id": "b", "budget_usd": "1"})
        assert await asyncio.wait_for(waiter, 5) == snap(3, ["b"])


async def test_bad_poll_parameters_are_4xx(client: httpx.AsyncClient) -> None:
    for params in ({"after": "x"}, {"after": -1}, {"wait": "-1"}, {"wait": "nan"}):
        resp = await client.get("/budgets/snapshot", params=params)
        assert error_of(resp)["type"] == "invalid_request", params
