"""GET /receipts/by-id/{request_id}: one receipt, exactly as booked, whatever its run; a virtual
key finds only its own tenant's; unknown or unsafe ids are a 404 and a 400 with a JSON body."""

from __future__ import annotations

import jsonschema

from services.common import contracts
from tests.integration.ledger.conftest import Ledger
from tests.integration.ledger.ledger_factory import as_json, error_of, exact, make_receipt, post

ADMIN = {"x-admin-key": "adm-1"}


async def test_a_receipt_comes_back_byte_for_byte_from_any_run(ledger_at: Ledger) -> None:
    async with ledger_at() as client:
        first = make_receipt("0.1", run_id="run-a", request_id="by-id-1")
        second = make_receipt("0.000007", run_id="run-b", request_id="by-id-2")
        await post(client, "/receipts", {"receipts": [first, second]})
        resp = await client.get("/receipts/by-id/by-id-2")
        assert resp.status_code == 200
        assert resp.content == as_json(second)  # as ingested: the same bytes, money exact
        jsonschema.validate(resp.json(), contracts.schema("routing_receipt"))
        assert exact(await client.get("/receipts/by-id/by-id-1"))["run_id"] == "run-a"
        missing = await client.get("/receipts/by-id/no-such-request")
        assert missing.status_code == 404 and error_of(missing)["message"] == "no receipt no-such-request"
        unsafe = await client.get("/receipts/by-id/bad%20id")
        assert unsafe.status_code == 400 and error_of(unsafe)["field"] == "request_id"


async def test_a_key_finds_its_own_tenants_receipt_only(ledger_at: Ledger) -> None:
    async with ledger_at(admin_key="adm-1") as client:
        a = (await client.post("/keys", json={"org": "acme"}, headers=ADMIN)).json()
        b = (await client.post("/keys", json={"org": "beta"}, headers=ADMIN)).json()
        mine = make_receipt("0.1", run_id="shared", request_id="acme-1", key_id=a["key_id"], org="acme")
        assert (await post(client, "/receipts", {"receipts": [mine]}, headers=ADMIN)).status_code == 200
        as_a = await client.get("/receipts/by-id/acme-1", headers={"authorization": f"Bearer {a['secret']}"})
        assert as_a.status_code == 200 and as_a.json()["org"] == "acme"
        as_b = await client.get("/receipts/by-id/acme-1", headers={"authorization": f"Bearer {b['secret']}"})
        assert as_b.status_code == 404 and error_of(as_b)["message"] == "no receipt acme-1"
        assert (await client.get("/receipts/by-id/acme-1", headers=ADMIN)).json()["request_id"] == "acme-1"
        refused = await client.get("/receipts/by-id/acme-1", headers={"authorization": "Bearer tw-nope"})
        assert refused.status_code == 401
