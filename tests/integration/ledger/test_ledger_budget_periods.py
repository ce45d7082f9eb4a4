"""Periodic budgets on both backends with the injectable clock: spend resets at local midnight
across a DST change and at a month end in a non-UTC zone, by period key (no timer); leases are
capped by the current period; history of past periods; thresholds per budget, each event once
per period across a restart; user, provider, model and global budgets; the runway."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import jsonschema
from structlog.testing import capture_logs

from services.common import contracts
from services.common.clock import FrozenClock
from tests.integration.ledger.conftest import Ledger
from tests.integration.ledger.ledger_factory import error_of, exact, make_receipt, post

STATUS = contracts.schema("budget_status")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def spend(client: httpx.AsyncClient, cost: str, when: str, **extra: Any) -> None:
    receipt = make_receipt(cost, timestamp=when + ".000Z", **extra)
    resp = await post(client, "/receipts", {"receipts": [receipt]})
    assert resp.status_code == 200 and resp.json()["accepted"] == 1, resp.text


async def status(client: httpx.AsyncClient, scope: str, scope_id: str) -> dict[str, Any]:
    resp = await client.get(f"/budgets/{scope}/{scope_id}")
    assert resp.status_code == 200, resp.text
    jsonschema.validate(resp.json(), STATUS)
    return exact(resp)  # type: ignore[no-any-return]


def crossed(logs: list[dict[str, Any]]) -> list[int]:
    return [e["threshold"] for e in logs if e["event"] == "budget_threshold_crossed"]


async def test_a_daily_budget_resets_at_local_midnight_across_spring_forward(
        ledger_at: Ledger, clock: FrozenClock) -> None:
    clock.set(utc("2026-03-28T22:30:00"))  # 23:30 in Berlin, the day before the clocks go forward
    async with ledger_at() as client:
        made = await post(client, "/budget", {"scope": "provider", "scope_id": "sim-openai", "budget_usd": "1",
                                              "period": "daily", "tz": "Europe/Berlin"})
        assert made.status_code == 201, made.text
        await spend(client, "0.800000", "2026-03-28T22:30:00")
        before = await status(client, "provider", "sim-openai")
        assert (before["spent_usd"], before["level"], before["period"], before["tz"]) == (
            Decimal("0.8"), "caution", "daily", "Europe/Berlin")
        assert before["period_start"] == "2026-03-27T23:00:00.000Z"
        assert [e["threshold"] for e in before["events"]] == [75]
        lease = {"lease_id": "l1", "scope": "provider", "scope_id": "sim-openai", "need_usd": Decimal("0.3"),
                 "want_usd": Decimal("0.3")}
        assert (await post(client, "/leases", lease)).status_code == 402  # 0.8 + 0.3 > 1 today

        clock.set(utc("2026-03-28T23:05:00"))  # 00:05 on the 29th in Berlin: a new day, 23 hours long
        after = await status(client, "provider", "sim-openai")
        assert (after["spent_usd"], after["level"], after["events"]) == (0, "ok", [])
        assert (after["period_start"], after["period_end"]) == ("2026-03-28T23:00:00.000Z",
                                                                "2026-03-29T22:00:00.000Z")
        granted = await post(client, "/leases", lease)
        assert granted.status_code == 200 and exact(granted)["granted_usd"] == Decimal("0.3")
        await spend(client, "0.500000", "2026-03-28T23:10:00")
        await spend(client, "0.050000", "2026-03-28T22:59:00")  # late: yesterday's, in Berlin
        assert (await status(client, "provider", "sim-openai"))["spent_usd"] == Decimal("0.5")

        history = exact(await client.get("/budgets/provider/sim-openai/history", params={"periods": 2}))
        assert [(p["start"], p["spent_usd"]) for p in history["periods"]] == [
            ("2026-03-28T23:00:00.000Z", Decimal("0.5")), ("2026-03-27T23:00:00.000Z", Decimal("0.85"))]
        assert [e["threshold"] for e in history["periods"][1]["events"]] == [75]


async def test_a_monthly_budget_resets_at_the_month_end_in_new_york(ledger_at: Ledger, clock: FrozenClock) -> None:
    clock.set(utc("2026-02-01T04:30:00"))  # 23:30 on January 31st in New York
    async with ledger_at() as client:
        made = await post(client, "/budget", {"scope": "global", "budget_usd": "10", "period": "monthly",
                                              "tz": "America/New_York", "thresholds": [50]})
        assert made.status_code == 201, made.text
        assert exact(made)["scope_id"] == "all"
        await spend(client, "6", "2026-02-01T04:30:00")
        january = await status(client, "global", "all")
        assert (january["spent_usd"], january["level"], january["thresholds"]) == (Decimal(6), "warning", [50])
        assert january["period_start"] == "2026-01-01T05:00:00.000Z"
        clock.set(utc("2026-02-01T05:00:00"))  # midnight, February 1st, in New York
        february = await status(client, "global", "all")
        assert (february["spent_usd"], february["period_start"], february["period_end"]) == (
            0, "2026-02-01T05:00:00.000Z", "2026-03-01T05:00:00.000Z")
        with capture_logs() as logs:
            await spend(client, "5", "2026-02-01T05:01:00")
        assert crossed(logs) == [50]  # raised again: a new period
        assert (await status(client, "global", "all"))["spent_usd"] == 5


async def test_each_threshold_is_raised_once_per_period_across_a_restart(ledger_at: Ledger, clock: FrozenClock) -> None:
    clock.set(utc("2026-11-23T10:00:00"))
    async with ledger_at() as client:
        await post(client, "/budget", {"scope": "team", "scope_id": "ml", "budget_usd": "1", "period": "daily",
                                       "thresholds": [25, 50, 100]})
        with capture_logs() as logs:
            await spend(client, "0.300000", "2026-11-23T10:00:00", team="ml")
        assert crossed(logs) == [25]
    async with ledger_at() as client:  # restarted: what was raised is in the store
        with capture_logs() as logs:
            await spend(client, "0.100000", "2026-11-23T10:01:00", team="ml")
            await post(client, "/budget", {"scope": "team", "scope_id": "ml", "budget_usd": "1", "period": "daily",
                                           "thresholds": [25, 50, 100]})
            await spend(client, "0.200000", "2026-11-23T10:02:00", team="ml")
        assert crossed(logs) == [50]
        state = await status(client, "team", "ml")
        assert [(e["threshold"], e["level"]) for e in state["events"]] == [(25, "caution"), (50, "warning")]
        clock.set(utc("2026-11-24T00:00:00"))
        with capture_logs() as logs:
            await spend(client, "0.300000", "2026-11-24T00:00:00", team="ml")
        assert crossed(logs) == [25]


async def test_user_provider_model_and_global_budgets_count_every_receipt(client: httpx.AsyncClient) -> None:
    for scope, scope_id in (("user", "ann"), ("provider", "sim-openai"), ("model", "sim-small"), ("global", "all")):
        resp = await post(client, "/budget", {"scope": scope, "scope_id": scope_id, "budget_usd": "2"})
        assert resp.status_code == 201, resp.text
    await spend(client, "0.500000", "2026-11-23T10:30:00", user="ann")
    await spend(client, "0.250000", "2026-11-23T10:30:00", provider="other")
    spent = {(b["scope"], b["scope_id"]): b["spent_usd"] for b in exact(await client.get("/budgets?scope=all"))}
    assert spent == {("user", "ann"): Decimal("0.5"), ("provider", "sim-openai"): Decimal("0.5"),
                     ("model", "sim-small"): Decimal("0.75"), ("global", "all"): Decimal("0.75")}
    for scope in ("user", "provider", "model", "global"):
        listed = exact(await client.get("/budgets", params={"scope": scope}))
        assert [b["scope"] for b in listed] == [scope]
    assert error_of(await client.get("/budgets", params={"scope": "planet"}))["field"] == "scope"


async def test_the_runway_at_the_last_hours_and_days_burn(client: httpx.AsyncClient) -> None:
    # now is 10:30:15: the last hour starts at the bucket of 09:30:15 (09:30:00), 3,615 s ago
    await post(client, "/budget", {"scope": "model", "scope_id": "sim-small", "budget_usd": "10"})
    await spend(client, "0.500000", "2026-11-23T10:00:00")
    await spend(client, "1", "2026-11-23T01:00:00")
    runway = (await status(client, "model", "sim-small"))["runway"]
    hour, day = runway["last_hour"], runway["last_day"]
    assert (hour["since"], hour["spent_usd"], day["spent_usd"]) == ("2026-11-23T09:30:00.000Z", Decimal("0.5"),
                                                                    Decimal("1.5"))
    assert hour["seconds_left"] == 8.5 / 0.5 * 3615  # what is left over what the last hour burnt
    assert hour["burn_usd_per_hour"] == Decimal("0.497925")  # 0.5 x 3600 / 3615
    assert day["since"] == "2026-11-22T10:30:00.000Z" and day["seconds_left"] == 8.5 / 1.5 * 86415
    assert hour["resets_first"] is False
    listed = exact(await client.get("/budgets?scope=model"))
    assert listed[0]["runway"] == runway
    await post(client, "/budget", {"scope": "model", "scope_id": "sim-small", "budget_usd": "10", "period": "daily"})
    assert (await status(client, "model", "sim-small"))["runway"]["last_hour"]["resets_first"] is True
    await post(client, "/budget", {"scope": "user", "scope_id": "idle", "budget_usd": "1"})
    assert (await status(client, "user", "idle"))["runway"]["last_day"]["runs_out_at"] is None


async def test_bad_budget_fields_are_400s_naming_them(client: httpx.AsyncClient) -> None:
    cases = (({"scope": "planet", "scope_id": "x", "budget_usd": 1}, "scope"),
             ({"scope": "provider", "budget_usd": 1}, "scope_id"),
             ({"scope": "global", "scope_id": "most", "budget_usd": 1}, "scope_id"),
             ({"run_id": "r", "budget_usd": 1, "period": "hourly"}, "period"),
             ({"run_id": "r", "budget_usd": 1, "period": "daily", "tz": "Mars/Olympus"}, "tz"),
             ({"run_id": "r", "budget_usd": 1, "tz": "UTC"}, "tz"),
             ({"run_id": "r", "budget_usd": 1, "thresholds": [90, 75, 100]}, "thresholds.1"),
             ({"run_id": "r", "budget_usd": 1, "thresholds": [0]}, "thresholds.0"),
             ({"run_id": "r", "budget_usd": 1, "thresholds": "high"}, "thresholds"))
    for body, field in cases:
        resp = await post(client, "/budget", body)
        assert resp.status_code == 400 and error_of(resp)["field"] == field, (body, resp.text)
    query = await client.post("/budget", params={"run_id": "r", "budget_usd": "1", "thresholds": "75,x"})
    assert query.status_code == 400 and error_of(query)["field"] == "thresholds"
    ok = await client.post("/budget", params={"scope": "provider", "scope_id": "p", "budget_usd": "1",
                                              "period": "weekly", "tz": "Asia/Tokyo", "thresholds": "50,100"})
    assert ok.status_code == 201 and ok.json()["thresholds"] == [50, 100] and ok.json()["tz"] == "Asia/Tokyo"
    history = await client.get("/budgets/provider/p/history", params={"periods": "0"})
    assert history.status_code == 400 and error_of(history)["field"] == "periods"
    assert (await client.get("/budgets/provider/nobody/history")).status_code == 404
    assert (await client.get("/budget/r")).status_code == 404  # nothing bad was stored


async def test_each_periods_spend_is_the_sum_of_its_receipts_to_the_microdollar(
        ledger_at: Ledger, clock: FrozenClock) -> None:
    """300 receipts at random instants over four days, half an hour off UTC (Kolkata): every day's
    spend in the history equals the sum of the receipts dated in that local day."""
    rng = random.Random(15)
    kolkata = ZoneInfo("Asia/Kolkata")
    clock.set(utc("2026-11-26T20:00:00"))
    start = utc("2026-11-22T18:30:00")  # midnight of the 23rd in Kolkata
    receipts, by_day = [], defaultdict(int)
    for i in range(300):
        when = start + timedelta(seconds=rng.randrange(4 * 86_400))
        micros = rng.randrange(1, 2_000_000)
        receipts.append(make_receipt(f"{micros / 1_000_000:.6f}", request_id=f"r-{i}", user="kim",
                                     timestamp=when.strftime("%Y-%m-%dT%H:%M:%S.000Z")))
        by_day[when.astimezone(kolkata).date().isoformat()] += micros
    async with ledger_at() as client:
        await post(client, "/budget", {"scope": "user", "scope_id": "kim", "budget_usd": "1000", "period": "daily",
                                       "tz": "Asia/Kolkata"})
        for batch in range(0, 300, 50):
            assert (await post(client, "/receipts", {"receipts": receipts[batch:batch + 50]})).status_code == 200
        history = exact(await client.get("/budgets/user/kim/history", params={"periods": 5}))
    days = {datetime.fromisoformat(p["start"].replace("Z", "+00:00")).astimezone(kolkata).date().isoformat():
            p["spent_usd"] for p in history["periods"]}
    assert days == {day: Decimal(micros) / 1_000_000 for day, micros in by_day.items()} | {"2026-11-27": 0}
