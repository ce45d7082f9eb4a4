"""POST /receipts and GET /receipts/{run_id}: idempotent, exact to the microdollar."""

from __future__ import annotations

from decimal import Decimal

import httpx

from tests.integration.ledger.ledger_factory import as_json, error_of, exact, make_receipt, post


async def test_same_batch_twice_is_counted_once(client: httpx.AsyncClient) -> None:
    batch = {"receipts": [make_receipt("0.001000"), make_receipt("0.002000")]}
    first = await post(client, "/receipts", batch)
    second = await post(client, "/receipts", batch)
    assert first.status_code == 200 and first.json() == {"accepted": 2, "duplicates": 0}
    assert second.json() == {"accepted": 0, "duplicates": 2}
    book = exact(await client.get("/receipts/run-a"))
    assert book["count"] == 2
    assert book["total_cost_usd"] == Decimal("0.003")


async def test_duplicate_inside_one_batch_counts_once(client: httpx.AsyncClient) -> None:
    r = make_receipt("0.500000")
    resp = await post(client, "/receipts", {"receipts": [r, r]})
    assert resp.json() == {"accepted": 1, "duplicates": 1}
    assert exact(await client.get("/receipts/run-a"))["total_cost_usd"] == Decimal("0.5")


async def test_totals_equal_the_sum_of_awkward_receipts_to_the_microdollar(
        client: httpx.AsyncClient) -> None:
    costs = ["0.000001", "0.333333", "0.333333", "0.333333", "0.000001", "1.999999", "0"]
    batch = [make_receipt(c, input_cost="0.000001" if c != "0" else "0") for c in costs]
    assert (await post(client, "/receipts", {"receipts": batch})).json()["accepted"] == len(costs)
    book = exact(await client.get("/receipts/run-a"))
    assert book["total_cost_usd"] == sum(Decimal(c) for c in costs) == Decimal("3.000000")
    assert sum(r["cost_usd"] for r in book["receipts"]) == book["total_cost_usd"]


async def test_receipt_with_seven_decimals_refuses_the_whole_batch(
        client: httpx.AsyncClient) -> None:
    good = make_receipt("0.100000")
    bad = make_receipt("0.1000001", input_cost="0.1000001", request_id="req-seven")
    resp = await post(client, "/receipts", {"receipts": [good, bad]})
    err = error_of(resp)
    assert resp.status_code == 400
    assert "req-seven" in err["message"] and "6 decimal" in err["message"]
    assert err["field"] == "receipts.1.input_cost_usd"
    book = (await client.get("/receipts/run-a")).json()
    assert book["count"] == 0  # the good receipt of the bad batch was not written either
    assert (await client.get("/health")).json()["receipts"] == 0


async def test_cost_not_equal_to_input_plus_output_is_refused(client: httpx.AsyncClient) -> None:
    bad = make_receipt("0.300000", input_cost="0.100000", request_id="req-sum")
    bad["output_cost_usd"] = Decimal("0.100000")
    resp = await post(client, "/receipts", {"receipts": [bad]})
    assert resp.status_code == 400
    assert "req-sum" in error_of(resp)["message"]
    assert (await client.get("/receipts/run-a")).json()["count"] == 0


async def test_receipts_come_back_exactly_as_ingested_in_timestamp_order(
        client: httpx.AsyncClient) -> None:
    late = make_receipt("0.015000", timestamp="2026-11-23T10:31:00.000Z", request_id="late")
    early = make_receipt("0.1", timestamp="2026-11-23T10:29:00.5Z", request_id="early")
    raw = as_json({"receipts": [late, early]})
    assert b'"cost_usd":0.1,' in raw  # sent with one decimal: it comes back with one
    await client.post("/receipts", content=raw, headers={"content-type": "application/json"})
    resp = await client.get("/receipts/run-a")
    assert [r["request_id"] for r in resp.json()["receipts"]] == ["early", "late"]
    assert resp.content.count(as_json(early) + b"," + as_json(late)) == 1


async def test_limit_and_offset_page_the_run_but_count_is_the_whole_run(
        client: httpx.AsyncClient) -> None:
    batch = [make_receipt("0.000010", request_id=f"p{i}",
                          timestamp=f"2026-11-23T10:{i:02d}:00Z") for i in range(5)]
    await post(client, "/receipts", {"receipts": batch})
    body = (await client.get("/receipts/run-a", params={"limit": 2, "offset": 1})).json()
    assert body["count"] == 5
    assert [r["request_id"] for r in body["receipts"]] == ["p1", "p2"]


async def test_unknown_run_is_an_empty_book(client: httpx.AsyncClient) -> None:
    resp = await client.get("/receipts/nobody")
    assert resp.status_code == 200
    assert exact(resp) == {"run_id": "nobody", "count": 0, "total_cost_usd": Decimal(0),
                           "receipts": []}


async def test_runs_are_kept_apart_and_health_counts_receipts(client: httpx.AsyncClient) -> None:
    await post(client, "/receipts", {"receipts": [make_receipt("0.1", run_id="a"),
                                                  make_receipt("0.2", run_id="b")]})
    assert exact(await client.get("/receipts/a"))["total_cost_usd"] == Decimal("0.1")
    assert exact(await client.get("/receipts/b"))["total_cost_usd"] == Decimal("0.2")
    health = (await client.get("/health")).json()
    assert health["service"] == "ledger" and health["receipts"] == 2
