"""Bad input gets a clear 4xx JSON error (contracts/error.schema.json), never a 500."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from tests.integration.ledger.ledger_factory import as_json, error_of, make_receipt, post

JSON = {"content-type": "application/json"}


def receipt_with(**fields: object) -> dict:
    return make_receipt("0.001", request_id="req-bad") | fields


@pytest.mark.parametrize("raw", [
    b"{not json", b"", b"   ", b"[1, 2]", b'"text"', b'{"receipts": "many"}',
    b'{"receipts": [], "extra": 1}', b'{"receipts": [{}]}',
    b'{"receipts": [{"cost_usd": NaN}]}', b"\xff\xfe{}", b'{"receipts": ' + b"[" * 50_000,
    b'{"receipts": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
])
async def test_malformed_receipt_batches(client: httpx.AsyncClient, raw: bytes) -> None:
    resp = await client.post("/receipts", content=raw, headers=JSON)
    assert resp.status_code == 400
    error_of(resp)


@pytest.mark.parametrize("fields", [
    {"input_tokens": "ten"}, {"input_tokens": 10**16}, {"input_tokens": -1},
    {"cost_usd": Decimal("-0.001"), "output_cost_usd": Decimal("-0.001")},
    {"cost_usd": "0.001"}, {"stream": "no"}, {"status": "maybe"},
    {"timestamp": "2026-02-30T00:00:00Z"}, {"timestamp": "yesterday"},
    {"run_id": "../../x"}, {"run_id": ".."}, {"request_id": "a/b"},
    {"hold_usd": Decimal("0.0000001")}, {"prices": {"input_per_mtok": 1}},
])
async def test_receipts_with_wrong_fields(client: httpx.AsyncClient, fields: dict) -> None:
    resp = await post(client, "/receipts", {"receipts": [receipt_with(**fields)]})
    err = error_of(resp)
    assert resp.status_code == 400 and err["type"] == "invalid_request"
    assert (await client.get("/health")).json()["receipts"] == 0


async def test_infinite_and_huge_amounts(client: httpx.AsyncClient) -> None:
    raw = as_json({"receipts": [receipt_with()]}).replace(b'"cost_usd":0.001', b'"cost_usd":1e400')
    assert b"1e400" in raw
    assert error_of(await client.post("/receipts", content=raw, headers=JSON))["field"] == (
        "receipts.0.cost_usd")
    raw = as_json({"receipts": [receipt_with()]}).replace(b'"cost_usd":0.001',
                                                          b'"cost_usd":Infinity')
    assert (await client.post("/receipts", content=raw, headers=JSON)).status_code == 400


async def test_integers_beyond_64_bits(client: httpx.AsyncClient) -> None:
    for field in (b'"input_tokens":100', b'"http_status":200'):
        raw = as_json({"receipts": [receipt_with()]})
        assert field in raw
        raw = raw.replace(field, field.split(b":")[0] + b":" + str(10**30).encode())
        resp = await client.post("/receipts", content=raw, headers=JSON)
        assert resp.status_code == 400, field
        assert "req-bad" in error_of(resp)["message"]


async def test_unsafe_run_ids_in_paths(client: httpx.AsyncClient) -> None:
    for path in ("/receipts/a..b", "/budget/a..b", "/receipts/%2E%2E", "/budget/..%2F..%2Fx",
                 "/receipts/../../x", "/budget/" + "x" * 129):
        resp = await client.get(path)
        assert resp.status_code in (400, 404), path
        error_of(resp)
    assert error_of(await client.delete("/budget/a..b"))["field"] == "run_id"


async def test_bad_paging(client: httpx.AsyncClient) -> None:
    for params in ({"limit": 0}, {"limit": "many"}, {"offset": -1}, {"limit": 10**6}):
        resp = await client.get("/receipts/run-a", params=params)
        assert resp.status_code == 422
        error_of(resp)


@pytest.mark.parametrize("body", [
    {"hold_id": "h", "run_id": "r"}, {"hold_id": "h", "run_id": "r", "amount_usd": "1"},
    {"hold_id": "h", "run_id": "r", "amount_usd": Decimal("0.0000001")},
    {"hold_id": "h", "run_id": "r", "amount_usd": Decimal("-1")},
    {"hold_id": "h/1", "run_id": "r", "amount_usd": 1},
    {"hold_id": "h", "run_id": "..", "amount_usd": 1}, {"hold_id": "a..b", "run_id": "r",
                                                          "amount_usd": 1},
    {"hold_id": "h", "run_id": "r", "amount_usd": 1, "extra": True},
])
async def test_bad_hold_requests(client: httpx.AsyncClient, body: dict) -> None:
    resp = await post(client, "/holds", body)
    assert resp.status_code == 400
    error_of(resp)


async def test_unknown_holds_and_bad_settles(client: httpx.AsyncClient) -> None:
    assert error_of(await client.delete("/holds/nope"))["type"] == "not_found"
    assert error_of(await client.delete("/holds/a..b"))["field"] == "hold_id"
    bad = await post(client, "/holds/nope/settle", receipt_with(cost_usd=Decimal("0.002")))
    assert "req-bad" in error_of(bad)["message"]
    missing = await post(client, "/holds/nope/settle", {"request_id": "x"})
    assert missing.status_code == 400
    assert (await client.get("/receipts/run-a")).json()["count"] == 0


@pytest.mark.parametrize("body", [
    {"run_id": "r", "budget_usd": True}, {"run_id": "r", "budget_usd": "1e3"},
    {"run_id": "r", "budget_usd": None}, {"run_id": 7, "budget_usd": 1},
    {"run_id": "r", "budget_usd": Decimal("1E+400")}, {"budget_usd": 1},
])
async def test_bad_budget_bodies(client: httpx.AsyncClient, body: dict) -> None:
    resp = await post(client, "/budget", body)
    assert resp.status_code == 400
    error_of(resp)


async def test_oversized_body_is_a_413(ledger_at) -> None:
    async with ledger_at(max_body_bytes=2048) as client:
        batch = {"receipts": [make_receipt() for _ in range(10)]}
        resp = await post(client, "/receipts", batch)
        assert resp.status_code == 413
        error_of(resp)


async def test_unknown_routes_and_methods(client: httpx.AsyncClient) -> None:
    assert error_of(await client.get("/nowhere"))["type"] == "not_found"
    assert (await client.put("/receipts")).status_code == 405
    error_of(await client.put("/receipts"))


def test_a_database_url_the_ledger_cannot_use_is_a_clear_startup_error(tmp_path) -> None:
    from services.common.settings import Settings
    from services.ledger.app import create_app
    from services.ledger.store.factory import UnsupportedDatabase

    with pytest.raises(UnsupportedDatabase) as info:
        create_app(Settings(artifacts_dir=tmp_path, database_url="mysql://u:secret@h/db"))
    assert "only PostgreSQL" in str(info.value) and "secret" not in str(info.value)


@pytest.mark.parametrize("timestamp", ["0001-01-01T00:00:00Z", "2019-12-31T23:59:59Z", "9999-12-31T23:59:59Z",
                                       "2026-11-24T10:30:16Z"])
async def test_a_receipt_time_that_cannot_be_right_is_a_400_naming_it(client: httpx.AsyncClient,
                                                                      timestamp: str) -> None:
    """Before 2020, or more than a day ahead of the ledger's clock (2026-11-23T10:30:15Z here): not
    booked, whatever else the batch holds."""
    ok = make_receipt("0.001", request_id="req-ok")
    resp = await post(client, "/receipts", {"receipts": [ok, receipt_with(timestamp=timestamp)]})
    err = error_of(resp)
    assert resp.status_code == 400 and err["field"] == "receipts.1.timestamp"
    assert "req-bad" in err["message"] and timestamp in err["message"]
    assert (await client.get("/health")).json()["receipts"] == 0


async def test_a_receipt_days_late_is_booked(client: httpx.AsyncClient) -> None:
    """A gateway ships what it wrote during an outage days later: taken as any other."""
    late = receipt_with(timestamp="2026-11-13T10:30:15Z")
    assert (await post(client, "/receipts", {"receipts": [late]})).json() == {"accepted": 1, "duplicates": 0}
