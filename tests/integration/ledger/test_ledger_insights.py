"""GET /analytics/projection and /analytics/anomalies through the ledger app, on both backends:
receipts placed at known times make a known line of daily spend and a seasonal hourly series with
known spikes; CSV; a virtual key's tenancy; bad fields named."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from tests.integration.ledger.conftest import Ledger
from tests.integration.ledger.ledger_factory import error_of, make_receipt, post

# the clock stands at 2026-11-23T10:30:15Z (conftest.START)
FIRST_DAY = datetime(2026, 11, 9, 12, tzinfo=UTC)
DAILY = [Decimal("1.000000") + Decimal("0.100000") * k for k in range(14)]  # Nov 9th .. 22nd: an exact line
HOURLY = [2, 1, 1, 1, 1, 2, 4, 8, 14, 18, 20, 19, 12, 18, 20, 19, 16, 12, 8, 6, 5, 4, 3, 2]  # cents
COST_SPIKE = "2026-11-22T14:00:00.000Z"
ERROR_SPIKE = "2026-11-22T05:00:00.000Z"


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def place_days(client: httpx.AsyncClient, **headers: str) -> None:
    receipts = [make_receipt(f"{cost:f}", timestamp=stamp(FIRST_DAY + timedelta(days=k)), provider="p1")
                for k, cost in enumerate(DAILY)]
    receipts += [make_receipt("9.000000", timestamp="2026-11-20T12:00:00Z", provider="p2"),  # filtered out
                 make_receipt("5.000000", timestamp="2026-11-23T09:00:00Z", provider="p1")]  # today: not fitted
    assert (await post(client, "/receipts", {"receipts": receipts}, headers)).status_code == 200


async def test_projection_of_an_exact_line(client: httpx.AsyncClient) -> None:
    await place_days(client)
    resp = await client.get("/analytics/projection", params={"horizon": "week", "provider": "p1"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["starts"] == "2026-11-23T00:00:00.000Z" and body["horizon_days"] == 7
    assert body["history"]["since"] == "2026-11-09T00:00:00.000Z" and body["history"]["days"] == 14
    assert body["history"]["daily_cost_usd"][:2] == ["1.000000", "1.100000"]
    got = body["projection"]
    # days 14..20 of $1 + $0.10 t: $7 + $0.10 x 119
    assert (got["cost_usd"], got["low_usd"], got["high_usd"]) == ("18.900000", "18.900000", "18.900000")
    assert got["trend_usd_per_day"] == "0.100000" and got["confidence"] == "0.9"
    day = (await client.get("/analytics/projection", params={"horizon": "day", "provider": "p1"})).json()
    assert day["projection"]["cost_usd"] == "2.400000"
    both = (await client.get("/analytics/projection", params={"horizon": "day"})).json()["projection"]
    assert Decimal(both["low_usd"]) < Decimal(both["cost_usd"]) < Decimal(both["high_usd"])  # p2's day: noise
    rows = list(csv.DictReader(io.StringIO((await client.get("/analytics/projection", params={
        "horizon": "month", "provider": "p1", "format": "csv"})).text)))
    # days 14..43: $30 + $0.10 x 855
    assert [(r["horizon"], r["cost_usd"], r["history_days"]) for r in rows] == [("month", "115.500000", "14")]


async def test_too_little_history_is_a_null_projection(client: httpx.AsyncClient) -> None:
    receipts = [make_receipt("1.000000", timestamp=f"2026-11-2{d}T08:00:00Z") for d in (0, 1, 2)]
    assert (await post(client, "/receipts", {"receipts": receipts})).status_code == 200
    body = (await client.get("/analytics/projection", params={"horizon": "year"})).json()
    assert body["projection"] is None and "fewer than 7 days" in body["reason"]
    assert body["history"]["days"] == 3


async def place_hours(client: httpx.AsyncClient) -> None:
    start = datetime(2026, 11, 14, tzinfo=UTC)
    receipts = [make_receipt(f"{Decimal(HOURLY[h]) / 100 * (1 + Decimal((d * 7 + h * 13) % 17 - 8) / 100):f}",
                             timestamp=stamp(start + timedelta(days=d, hours=h, minutes=20)))
                for d in range(9) for h in range(24)]
    receipts += [make_receipt("0.600000", timestamp="2026-11-22T14:40:00Z"),  # $0.184 (0.92 x $0.20) that hour
                 make_receipt("0.000001", timestamp="2026-11-22T05:50:00Z", status="error")]
    assert (await post(client, "/receipts", {"receipts": receipts})).status_code == 200


async def test_anomalies_find_the_injected_spikes(client: httpx.AsyncClient) -> None:
    await place_hours(client)
    window = {"since": "2026-11-22T00:00:00Z", "until": "2026-11-23T00:00:00Z"}
    cost = (await client.get("/analytics/anomalies", params=window)).json()
    assert cost["hours_examined"] == 24 and cost["season"] == "day" and cost["seasons"] == 7
    assert [(a["start"], a["value"]) for a in cost["anomalies"]] == [(COST_SPIKE, "0.784000")]
    assert cost["anomalies"][0]["baseline_points"] == 7 and Decimal(cost["anomalies"][0]["score"]) > 3
    errors = (await client.get("/analytics/anomalies", params={**window, "metric": "error_rate",
                                                                "min_requests": "1"})).json()
    assert [(a["start"], a["value"], a["baseline_median"]) for a in errors["anomalies"]] == [
        (ERROR_SPIKE, "0.500000", "0.000000")]
    assert (await client.get("/analytics/anomalies", params={**window, "metric": "error_rate"})).json()[
        "anomalies"] == []  # two requests an hour: below min_requests (10)
    clean = (await client.get("/analytics/anomalies", params={"since": "2026-11-21T00:00:00Z",
                                                               "until": "2026-11-22T00:00:00Z"})).json()
    assert clean["anomalies"] == []
    lines = (await client.get("/analytics/anomalies", params={**window, "format": "csv"})).text.splitlines()
    assert lines == ["start,metric,value,baseline_median,score,baseline_points",
                     f"{COST_SPIKE},cost,0.784000,{cost['anomalies'][0]['baseline_median']},"
                     f"{cost['anomalies'][0]['score']},7"]


async def test_a_virtual_key_projects_only_its_tenant(ledger_at: Ledger) -> None:
    admin = {"x-admin-key": "adm-1"}
    async with ledger_at(admin_key="adm-1") as client:
        acme = (await client.post("/keys", json={"org": "acme"}, headers=admin)).json()
        receipts = [make_receipt("1.000000", timestamp=stamp(FIRST_DAY + timedelta(days=k)), org="acme",
                                 key_id=acme["key_id"]) for k in range(14)]
        receipts += [make_receipt("7.000000", timestamp=stamp(FIRST_DAY + timedelta(days=k)), org="other")
                     for k in range(14)]
        assert (await post(client, "/receipts", {"receipts": receipts}, admin)).status_code == 200
        mine = (await client.get("/analytics/projection", params={"horizon": "week"},
                                 headers={"authorization": f"Bearer {acme['secret']}"})).json()
        assert mine["tenant"] == "org:acme" and mine["projection"]["cost_usd"] == "7.000000"
        everyone = (await client.get("/analytics/projection", params={"horizon": "week"}, headers=admin)).json()
        assert everyone["projection"]["cost_usd"] == "56.000000"


async def test_bad_fields_are_400s_naming_them(client: httpx.AsyncClient) -> None:
    for path, params, field in [
            ("/analytics/projection", {"horizon": "decade"}, "horizon"),
            ("/analytics/projection", {"confidence": "1.5"}, "confidence"),
            ("/analytics/projection", {"history_days": "two"}, "history_days"),
            ("/analytics/projection", {"since": "2026-11-01T00:00:00Z"}, "since"),
            ("/analytics/projection", {"format": "xml"}, "format"),
            ("/analytics/projection", {"tz": "Nowhere/Land"}, "tz"),
            ("/analytics/anomalies", {"metric": "latency"}, "metric"),
            ("/analytics/anomalies", {"season": "month"}, "season"),
            ("/analytics/anomalies", {"seasons": "1"}, "seasons"),
            ("/analytics/anomalies", {"seasons": "\u00b2"}, "seasons"),  # a digit to isdigit(), not to int()
            ("/analytics/anomalies", {"min_requests": "9" * 5000}, "min_requests"),
            ("/analytics/anomalies", {"threshold": "NaN"}, "threshold"),
            ("/analytics/anomalies", {"since": "2026-11-23T00:00:00Z", "until": "2026-11-22T00:00:00Z"}, "since"),
            ("/analytics/anomalies", {"since": "2026-01-01T00:00:00Z"}, "since"),
            ("/analytics/anomalies", {"modle": "m1"}, "modle")]:
        err = error_of(await client.get(path, params=params))
        assert err["field"] == field, (path, params, err)


async def test_recommendations_from_seeded_receipts(client: httpx.AsyncClient) -> None:
    same = "a" * 32
    prices = {"input_per_mtok": Decimal("3"), "output_per_mtok": Decimal("15")}
    cheap = {"input_per_mtok": Decimal("1"), "output_per_mtok": Decimal("5")}
    receipts = [make_receipt("0.006000", timestamp=f"2026-11-20T10:0{k}:00Z", provider="pa", model="m1",
                             input_tokens=1000, output_tokens=200, prices=prices, prompt_hash=same, team="ml")
                for k in range(3)]
    receipts += [make_receipt("0.002000", timestamp="2026-11-20T11:00:00Z", provider="pb", model="m1",
                              input_tokens=1000, output_tokens=200, prices=cheap, team="web"),
                 make_receipt("0.006000", timestamp="2026-11-10T10:00:00Z", provider="pa", model="m1",  # too old
                              input_tokens=1000, output_tokens=200, prices=prices, prompt_hash=same)]
    assert (await post(client, "/receipts", {"receipts": receipts})).status_code == 200
    body = (await client.get("/analytics/recommendations", params={"since": "2026-11-16T00:00:00Z"})).json()
    assert body["receipts_read"] == 4 and body["truncated"] is False
    got = {r["kind"]: r for r in body["recommendations"]}
    assert set(got) == {"cheaper_provider", "cache_opportunity", "smart_routing"}  # make_receipt: strategy cost
    assert got["smart_routing"]["estimated_saving_usd"] == "0.012000" and got["smart_routing"]["requests"] == 4
    assert got["cheaper_provider"]["estimated_saving_usd"] == "0.012000"  # 3 x ($0.006 - $0.002)
    # no router address: one model name taken as one set of capabilities, and the body says why
    reason = "the ledger has no router address (TOLLWAY_LEDGER_ROUTER_URL)"
    assert body["provider_registry"] == {"source": None, "reason": reason}
    assert (got["cheaper_provider"]["evidence"]["basis"], got["cheaper_provider"]["evidence"]["registry"]) == (
        "same_model", reason)
    assert got["cache_opportunity"]["estimated_saving_usd"] == "0.012000"  # the 2nd and 3rd repeats
    assert got["cache_opportunity"]["estimated_saving_micros"] == 12_000
    assert got["cache_opportunity"]["example_request_ids"] == [r["request_id"] for r in receipts[1:3]]
    web = (await client.get("/analytics/recommendations", params={"since": "2026-11-16T00:00:00Z",
                                                                   "team": "web"})).json()
    assert web["recommendations"] == [] and web["filters"] == {"team": ["web"]}
    rows = list(csv.DictReader(io.StringIO((await client.get("/analytics/recommendations", params={
        "since": "2026-11-16T00:00:00Z", "format": "csv"})).text)))
    assert sorted((r["kind"], r["estimated_saving_usd"], r["requests"]) for r in rows) == [
        ("cache_opportunity", "0.012000", "2"), ("cheaper_provider", "0.012000", "3"),
        ("smart_routing", "0.012000", "4")]
    for params, field in [({"tag": "env:ci"}, "tag"), ({"since": "2026-01-01T00:00:00Z"}, "since"),
                          ({"format": "xml"}, "format"), ({"horizon": "week"}, "horizon")]:
        err = error_of(await client.get("/analytics/recommendations", params=params))
        assert err["field"] == field, (params, err)
