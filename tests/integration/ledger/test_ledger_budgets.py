"""Budgets: query and JSON forms, spend, levels, and threshold events raised once each."""

from __future__ import annotations

from decimal import Decimal

import httpx
import jsonschema
from structlog.testing import capture_logs

from services.common import contracts
from tests.integration.ledger.ledger_factory import error_of, exact, make_receipt, post

STATUS = contracts.schema("budget_status")


async def spend(client: httpx.AsyncClient, cost: str, run_id: str = "run-a") -> None:
    resp = await post(client, "/receipts", {"receipts": [make_receipt(cost, run_id=run_id)]})
    assert resp.json()["accepted"] == 1


async def status(client: httpx.AsyncClient, run_id: str = "run-a") -> dict:
    resp = await client.get(f"/budget/{run_id}")
    assert resp.status_code == 200, resp.text
    jsonschema.validate(resp.json(), STATUS)
    return exact(resp)


async def test_budget_by_query_string_creates_then_updates(client: httpx.AsyncClient) -> None:
    created = await client.post("/budget", params={"run_id": "run-a", "budget_usd": "5"})
    assert created.status_code == 201
    jsonschema.validate(created.json(), STATUS)
    updated = await client.post("/budget", params={"run_id": "run-a", "budget_usd": "7.25"})
    assert updated.status_code == 200
    assert exact(updated)["budget_usd"] == Decimal("7.25")


async def test_budget_by_json_body_is_exact(client: httpx.AsyncClient) -> None:
    resp = await post(client, "/budget", {"run_id": "run-a", "budget_usd": Decimal("0.333333")})
    assert resp.status_code == 201
    body = exact(resp)
    assert body["budget_usd"] == Decimal("0.333333")
    assert body["remaining_usd"] == Decimal("0.333333")
    assert (body["spent_usd"], body["held_usd"], body["level"]) == (0, 0, "ok")


async def test_budget_refuses_bad_amounts_and_ambiguous_forms(client: httpx.AsyncClient) -> None:
    for params in ({"run_id": "r", "budget_usd": "-1"}, {"run_id": "r", "budget_usd": "1.0000001"},
                   {"run_id": "r"}, {"run_id": "../../x", "budget_usd": "1"},
                   {"run_id": "r", "budget_usd": "1", "extra": "y"}):
        assert (await client.post("/budget", params=params)).status_code == 400, params
    seven = await post(client, "/budget", {"run_id": "r", "budget_usd": Decimal("1.0000001")})
    assert error_of(seven)["field"] == "budget_usd"
    both = await client.post("/budget", params={"run_id": "r", "budget_usd": "1"},
                             json={"run_id": "r", "budget_usd": 1})
    assert "not both" in error_of(both)["message"]
    assert error_of(await client.post("/budget"))["type"] == "invalid_request"
    assert (await client.get("/budgets")).json() == []


async def test_spent_counts_receipts_from_before_the_budget(client: httpx.AsyncClient) -> None:
    await spend(client, "0.400000")
    await client.post("/budget", params={"run_id": "run-a", "budget_usd": "1"})
    body = await status(client)
    assert body["spent_usd"] == Decimal("0.4")
    assert body["remaining_usd"] == Decimal("0.6")
    assert body["percent"] == Decimal("40.00")


async def test_levels_and_events_at_75_90_100_are_raised_once_each(
        client: httpx.AsyncClient) -> None:
    await client.post("/budget", params={"run_id": "run-a", "budget_usd": "1.00"})
    await spend(client, "0.740000")
    assert (await status(client))["level"] == "ok"
    with capture_logs() as logs:
        await spend(client, "0.010000")  # 75 % exactly
    body = await status(client)
    assert (body["level"], body["percent"]) == ("caution", Decimal("75.00"))
    assert [(e["threshold"], e["spent_usd"]) for e in body["events"]] == [(75, Decimal("0.75"))]
    assert [(e["event"], e["threshold"], e["log_level"]) for e in logs
            if e["event"] == "budget_threshold_crossed"] == [("budget_threshold_crossed", 75,
                                                               "warning")]
    await spend(client, "0.010000")
    await spend(client, "0.149999")  # 90.9999 %: still shown below 91, never rounded up
    body = await status(client)
    assert (body["level"], body["percent"]) == ("warning", Decimal("90.99"))
    await spend(client, "0.090001")  # exactly 100 %
    await spend(client, "0.500000")  # over the cap: no new events
    body = await status(client)
    assert body["level"] == "critical" and body["percent"] == Decimal("150.00")
    assert body["remaining_usd"] == Decimal("-0.5")
    assert [(e["threshold"], e["level"], e["spent_usd"]) for e in body["events"]] == [
        (75, "caution", Decimal("0.75")), (90, "warning", Decimal("0.909999")),
        (100, "critical", Decimal("1.0"))]


async def test_one_batch_crossing_two_thresholds_records_the_spend_at_each(
        client: httpx.AsyncClient) -> None:
    await client.post("/budget", params={"run_id": "run-a", "budget_usd": "10"})
    batch = [make_receipt(c) for c in ("7.0", "0.6", "1.5", "0.1")]
    await post(client, "/receipts", {"receipts": batch})
    events = (await status(client))["events"]
    assert [(e["threshold"], e["spent_usd"]) for e in events] == [
        (75, Decimal("7.6")), (90, Decimal("9.1"))]


async def test_lowering_a_budget_below_the_spend_raises_events_once(
        client: httpx.AsyncClient) -> None:
    await spend(client, "0.95")
    await client.post("/budget", params={"run_id": "run-a", "budget_usd": "1"})
    assert [e["threshold"] for e in (await status(client))["events"]] == [75, 90]
    await client.post("/budget", params={"run_id": "run-a", "budget_usd": "0.5"})
    await client.post("/budget", params={"run_id": "run-a", "budget_usd": "0.4"})
    body = await status(client)
    assert [e["threshold"] for e in body["events"]] == [75, 90, 100]
    assert body["level"] == "critical"


async def test_zero_budget_is_ok_until_anything_is_spent(client: httpx.AsyncClient) -> None:
    await client.post("/budget", params={"run_id": "run-a", "budget_usd": "0"})
    assert ((await status(client))["percent"], (await status(client))["level"]) == (0, "ok")
    await spend(client, "0.000001")
    body = await status(client)
    assert (body["percent"], body["level"]) == (Decimal(100), "critical")


async def test_list_and_delete_budgets(client: httpx.AsyncClient) -> None:
    for run_id in ("b-run", "a-run"):
        await client.post("/budget", params={"run_id": run_id, "budget_usd": "3"})
    listed = (await client.get("/budgets")).json()
    assert [s["run_id"] for s in listed] == ["a-run", "b-run"]
    for s in listed:
        jsonschema.validate(s, STATUS)
    deleted = await client.delete("/budget/a-run")
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert error_of(await client.get("/budget/a-run"))["type"] == "not_found"
    assert (await client.delete("/budget/a-run")).status_code == 404
    assert [s["run_id"] for s in (await client.get("/budgets")).json()] == ["b-run"]


async def test_unknown_budget_is_a_404_json(client: httpx.AsyncClient) -> None:
    resp = await client.get("/budget/nobody")
    assert resp.status_code == 404
    assert "nobody" in error_of(resp)["message"]


async def test_budgets_and_events_survive_a_restart(ledger_at) -> None:
    async with ledger_at() as client:
        await client.post("/budget", params={"run_id": "run-a", "budget_usd": "1"})
        await spend(client, "0.8")
        before = await status(client)
    async with ledger_at() as client:
        after = await status(client)
        assert after == before
        await spend(client, "0.05")  # 85 %: nothing new, 75 was raised before the restart
        assert [e["threshold"] for e in (await status(client))["events"]] == [75]
