"""GET /analytics/series and /analytics/breakdown through the ledger app, on both backends:
points at known times, calendar buckets, CSV, bad fields and a virtual key's tenancy."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import httpx

from tests.integration.ledger.conftest import Ledger
from tests.integration.ledger.ledger_factory import error_of, make_receipt, post

# the clock stands at 2026-11-23T10:30:15Z (conftest.START), a Monday
PLACED = [
    # (timestamp, cost, provider, model, status, latency_ms, extra)
    ("2026-11-23T10:05:00Z", "0.100000", "p1", "m1", "success", 100.0, {"team": "ml"}),
    ("2026-11-23T10:06:00Z", "0.200000", "p1", "m2", "error", 300.0, {"team": "ml"}),
    ("2026-11-23T10:07:00Z", "0.000001", "p2", "m1", "success", 50.0, {"cache": "hit", "saved_usd": Decimal("0.25")}),
    ("2026-11-23T09:59:59.999Z", "1.000000", "p2", "m1", "success", 200.0, {}),
    ("2026-11-16T12:00:00Z", "2.000000", "p1", "m1", "success", 10.0, {}),  # the week before
    ("2026-10-31T23:30:00Z", "4.000000", "p1", "m1", "success", 10.0, {}),  # October in UTC, not in Tokyo
]


async def place(client: httpx.AsyncClient) -> None:
    batch = {"receipts": [make_receipt(cost, timestamp=ts, provider=p, model=m, status=s, latency_ms=lat,
                                       input_tokens=10, output_tokens=5, cache_read_input_tokens=4, **extra)
                          for ts, cost, p, m, s, lat, extra in PLACED]}
    resp = await post(client, "/receipts", batch)
    assert resp.status_code == 200, resp.text


async def test_hourly_series_by_provider(client: httpx.AsyncClient) -> None:
    await place(client)
    resp = await client.get("/analytics/series", params={"grain": "hour", "since": "2026-11-23T09:00:00Z",
                                                          "group_by": "provider"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["grain"] == "hour" and body["until"] == "2026-11-23T10:30:15.000Z"
    assert body["latency_relative_error"] == 0.01
    got = [(p["start"], p["group"]["provider"], p["cost_usd"], p["requests"]) for p in body["points"]]
    assert got == [("2026-11-23T09:00:00.000Z", "p2", "1.000000", 1),
                   ("2026-11-23T10:00:00.000Z", "p1", "0.300000", 2),
                   ("2026-11-23T10:00:00.000Z", "p2", "0.000001", 1)]
    p1 = body["points"][1]
    assert p1["cost_micros"] == 300_000 and p1["errors"] == 1 and p1["error_rate"] == 0.5
    assert (p1["input_tokens"], p1["output_tokens"], p1["cached_tokens"]) == (20, 10, 8)
    assert p1["cache_hit_rate"] == 0.0
    assert abs(p1["latency_ms"]["p50"] - 100) <= 1 and abs(p1["latency_ms"]["p99"] - 100) <= 1  # rank 0 of 2
    cached = body["points"][2]
    assert cached["cache_hits"] == 1 and cached["cache_hit_rate"] == 1.0 and cached["saved_usd"] == "0.250000"


async def test_counters_only_without_latency(client: httpx.AsyncClient) -> None:
    await place(client)
    params = {"grain": "hour", "since": "2026-11-23T09:00:00Z", "group_by": "provider"}
    full = (await client.get("/analytics/series", params=params)).json()["points"]
    bare = (await client.get("/analytics/series", params={**params, "latency": "false"})).json()["points"]
    assert [p["latency_ms"] for p in bare] == [{"p50": None, "p95": None, "p99": None}] * 3
    assert [{**p, "latency_ms": None} for p in bare] == [{**p, "latency_ms": None} for p in full]
    assert full[0]["latency_ms"]["p50"] is not None


async def test_week_and_month_buckets_in_utc_and_in_a_time_zone(client: httpx.AsyncClient) -> None:
    await place(client)
    weeks = (await client.get("/analytics/series", params={"grain": "week", "since": "2026-11-10T00:00:00Z"})).json()
    assert [(p["start"], p["cost_usd"]) for p in weeks["points"]] == [
        ("2026-11-16T00:00:00.000Z", "2.000000"), ("2026-11-23T00:00:00.000Z", "1.300001")]
    months = (await client.get("/analytics/series", params={"grain": "month", "since": "2026-10-01T00:00:00Z"})).json()
    assert [(p["start"], p["cost_usd"]) for p in months["points"]] == [
        ("2026-10-01T00:00:00.000Z", "4.000000"), ("2026-11-01T00:00:00.000Z", "3.300001")]
    tokyo = (await client.get("/analytics/series", params={"grain": "month", "since": "2026-10-01T00:00:00Z",
                                                            "tz": "Asia/Tokyo"})).json()
    assert tokyo["tz"] == "Asia/Tokyo"  # 23:30Z on Oct 31st is Nov 1st 08:30 in Tokyo
    assert [(p["start"], p["cost_usd"]) for p in tokyo["points"]] == [("2026-10-31T15:00:00.000Z", "7.300001")]


async def test_breakdown_and_csv_export(client: httpx.AsyncClient) -> None:
    await place(client)
    params = {"since": "2026-11-23T00:00:00Z", "group_by": "provider,model"}
    body = (await client.get("/analytics/breakdown", params=params)).json()
    assert body["grain"] == "minute"  # the finest grain still kept for since
    assert [(g["group"], g["cost_usd"]) for g in body["groups"]] == [
        ({"provider": "p1", "model": "m1"}, "0.100000"), ({"provider": "p1", "model": "m2"}, "0.200000"),
        ({"provider": "p2", "model": "m1"}, "1.000001")]
    resp = await client.get("/analytics/breakdown", params={**params, "format": "csv"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert [(r["provider"], r["model"], r["cost_usd"], r["requests"]) for r in rows] == [
        ("p1", "m1", "0.100000", "1"), ("p1", "m2", "0.200000", "1"), ("p2", "m1", "1.000001", "2")]
    series = await client.get("/analytics/series", params={"grain": "day", "since": "2026-11-01T00:00:00Z",
                                                            "team": "ml", "format": "csv"})
    lines = series.text.splitlines()
    assert lines[0].startswith("start,cost_usd,cost_micros,requests,errors,error_rate,")
    assert lines[1].startswith("2026-11-23T00:00:00.000Z,0.300000,300000,2,1,0.5,") and len(lines) == 2


async def test_bad_fields_are_400s_naming_them(client: httpx.AsyncClient) -> None:
    for params, field in [({"grain": "decade"}, "grain"), ({"group_by": "colour"}, "group_by"),
                          ({"since": "last week"}, "since"), ({"format": "xml"}, "format"),
                          ({"tz": "Nowhere/Land"}, "tz"), ({"modle": "m1"}, "modle"), ({"tz": "America"}, "tz"),
                          ({"latency": "no"}, "latency"), ({"until": "1999-12-31T00:00:00Z"}, "until")]:
        for path in ("/analytics/series", "/analytics/breakdown"):
            err = error_of(await client.get(path, params=params))
            assert err["field"] == field, (path, params, err)


async def test_a_virtual_key_reads_only_its_tenant(ledger_at: Ledger) -> None:
    admin = {"x-admin-key": "adm-1"}
    async with ledger_at(admin_key="adm-1") as client:
        acme = (await client.post("/keys", json={"org": "acme", "metadata": {"env": "ci"}}, headers=admin)).json()
        solo = (await client.post("/keys", json={}, headers=admin)).json()
        batch = {"receipts": [
            make_receipt("0.100000", timestamp="2026-11-23T10:00:00Z", key_id=acme["key_id"], org="acme"),
            make_receipt("0.200000", timestamp="2026-11-23T10:00:00Z", key_id=solo["key_id"]),
            make_receipt("0.400000", timestamp="2026-11-23T10:00:00Z", org="other")]}
        assert (await post(client, "/receipts", batch, headers=admin)).status_code == 200
        params = {"since": "2026-11-23T00:00:00Z", "group_by": "org"}

        async def totals(headers: dict[str, str], **more: str) -> dict[str | None, str]:
            body = (await client.get("/analytics/breakdown", params={**params, **more}, headers=headers)).json()
            return {g["group"]["org"]: g["cost_usd"] for g in body["groups"]}

        assert await totals(admin) == {None: "0.200000", "acme": "0.100000", "other": "0.400000"}
        assert await totals({"authorization": f"Bearer {acme['secret']}"}) == {"acme": "0.100000"}
        assert await totals({"authorization": f"Bearer {solo['secret']}"}) == {None: "0.200000"}
        assert await totals({"authorization": f"Bearer {acme['secret']}"}, org="other") == {}
        # the key's metadata is its tag
        tagged = (await client.get("/analytics/breakdown", params={"since": "2026-11-23T00:00:00Z",
                                                                    "group_by": "tag"}, headers=admin)).json()
        assert [(g["group"]["tag"], g["cost_usd"]) for g in tagged["groups"]] == [("env:ci", "0.100000")]


async def test_a_rows_sketch_merges_across_batches(client: httpx.AsyncClient) -> None:
    """The same row (one minute, one dimension tuple) filled by three ingests: its quantiles are those
    of all its receipts, each within 1 % of the exact value at its rank."""
    latencies = [[10.0, 20.0], [30.0, 40.0, 50.0], [1000.0]]
    for batch in latencies:
        receipts = [make_receipt(timestamp="2026-11-23T10:00:30Z", latency_ms=ms) for ms in batch]
        assert (await post(client, "/receipts", {"receipts": receipts})).status_code == 200
    params = {"since": "2026-11-23T10:00:00Z", "grain": "minute"}
    body = (await client.get("/analytics/breakdown", params=params)).json()
    [group] = body["groups"]
    assert group["requests"] == 6
    exact = sorted(ms for batch in latencies for ms in batch)  # ranks floor(q * 5): 2, 4, 4
    for name, rank in (("p50", 2), ("p95", 4), ("p99", 4)):
        assert abs(group["latency_ms"][name] - exact[rank]) <= 0.01 * exact[rank], (name, group["latency_ms"])
