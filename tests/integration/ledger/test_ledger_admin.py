"""With TOLLWAY_ADMIN_KEY set, every ledger write and the gateways' snapshot need it."""

from decimal import Decimal

from tests.integration.ledger.conftest import Ledger
from tests.integration.ledger.ledger_factory import make_receipt, post

ADMIN = {"x-admin-key": "adm-1"}


async def test_writes_need_the_admin_key(ledger_at: Ledger) -> None:
    async with ledger_at(admin_key="adm-1") as client:
        refused = await client.post("/budget", params={"run_id": "r", "budget_usd": "1"})
        assert refused.status_code == 401
        wrong = await client.post("/budget", params={"run_id": "r", "budget_usd": "1"},
                                  headers={"x-admin-key": "nope"})
        assert wrong.status_code == 403
        assert (await client.get("/budget/r")).status_code == 404  # nothing was set
        ok = await client.post("/budget", params={"run_id": "r", "budget_usd": "1"}, headers=ADMIN)
        assert ok.status_code == 201
        for path, body in (("/receipts", {"receipts": [make_receipt("0.1", run_id="r")]}),
                           ("/leases", {"lease_id": "l1", "run_id": "r", "need_usd": 0, "want_usd": 1}),
                           ("/holds", {"hold_id": "h1", "run_id": "r", "amount_usd": Decimal("0.1")})):
            assert (await post(client, path, body)).status_code == 401, path
        assert (await client.get("/budgets/snapshot")).status_code == 401
        assert (await client.get("/budgets/snapshot", headers=ADMIN)).json()["run_ids"] == ["r"]
        status = (await client.get("/budget/r")).json()
        assert status["spent_usd"] == 0 and status["held_usd"] == 0  # the refused writes did nothing
