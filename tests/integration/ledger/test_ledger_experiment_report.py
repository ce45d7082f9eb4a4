"""GET /routing/experiments/{name}/report on the ledger: the arms' counts and exact costs from the
receipts that name the experiment, the better arm when the difference is significant; a receipt
from before the experiment column is found after the upgrade; a key reads its own tenant's only."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import httpx

from services.ledger.store.migrations import migrations, statements
from tests.integration.ledger.conftest import Ledger
from tests.integration.ledger.ledger_factory import error_of, exact, make_receipt, post

ADMIN = {"x-admin-key": "report-admin"}


def arm_receipts(arm: str, n: int, errors: int, cost: str, latency: float, experiment: str = "exp-1") -> list[dict]:
    out = []
    for i in range(n):
        failed = i < errors
        out.append(make_receipt("0" if failed else cost, status="error" if failed else "success",
                                latency_ms=latency + i % 7, experiment={"name": experiment, "arm": arm}))
    return out


async def ship(client: httpx.AsyncClient, receipts: list[dict]) -> None:
    for start in range(0, len(receipts), 500):
        resp = await post(client, "/receipts", {"receipts": receipts[start:start + 500]})
        assert resp.status_code == 200, resp.text


async def test_the_report_counts_each_arm_and_names_the_better_one(ledger_at: Ledger) -> None:
    async with ledger_at() as client:
        await ship(client, arm_receipts("control", 600, 60, "0.002000", 200.0)
                   + arm_receipts("treatment", 600, 12, "0.001000", 100.0)
                   + [make_receipt()]  # no experiment
                   + arm_receipts("other", 5, 0, "0.5", 1.0, experiment="exp-2"))
        resp = await client.get("/routing/experiments/exp-1/report")
        assert resp.status_code == 200, resp.text
        body = exact(resp)
    assert body["requests"] == 1200 and set(body["arms"]) == {"control", "treatment"}
    control, treatment = body["arms"]["control"], body["arms"]["treatment"]
    assert (control["requests"], control["errors"], treatment["errors"]) == (600, 60, 12)
    assert control["statuses"] == {"error": 60, "success": 540}
    assert control["cost"]["total_usd"] == Decimal("1.08") and treatment["cost"]["total_usd"] == Decimal("0.588")
    assert treatment["cost"]["per_request_usd"] == Decimal("0.001") and treatment["cost"]["answered"] == 588
    # 0.588 USD over 588 x 150 tokens, rounded half-even to 10^-12
    assert treatment["cost"]["per_1k_tokens_usd"] == Decimal("0.006666666667")
    assert body["better_arm"] == "treatment"
    assert body["verdict"].startswith("treatment is better than control: a lower error rate")
    (c,) = body["comparisons"]
    assert c["error_rate"]["better"] == c["latency_ms"]["better"] == c["cost_per_request_usd"]["better"] == "treatment"
    assert c["error_rate"]["p_value"] < 1e-6


async def test_unknown_experiments_and_arms_and_bad_names(ledger_at: Ledger) -> None:
    async with ledger_at() as client:
        await ship(client, arm_receipts("a", 3, 0, "0.001", 10.0) + arm_receipts("b", 3, 0, "0.001", 10.0))
        assert (await client.get("/routing/experiments/nope/report")).status_code == 404
        resp = await client.get("/routing/experiments/exp-1/report", params={"baseline": "c"})
        assert resp.status_code == 400 and error_of(resp)["field"] == "baseline"
        assert (await client.get("/routing/experiments/..bad/report")).status_code == 400
        body = exact(await client.get("/routing/experiments/exp-1/report", params={"baseline": "b"}))
        assert body["baseline"] == "b" and body["better_arm"] is None
        assert body["verdict"].startswith("not yet significant")


async def test_a_key_reads_the_report_of_its_own_receipts_only(ledger_at: Ledger) -> None:
    async with ledger_at(admin_key="report-admin") as client:
        resp = await post(client, "/keys", {"name": "k", "org": "acme"}, ADMIN)
        assert resp.status_code == 201, resp.text
        key = resp.json()
        mine = arm_receipts("a", 4, 0, "0.001", 10.0)
        for r in mine:
            r.update(key_id=key["key_id"], org="acme")
        resp = await post(client, "/receipts", {"receipts": mine + arm_receipts("b", 6, 0, "0.001", 10.0)}, ADMIN)
        assert resp.status_code == 200, resp.text
        as_key = {"authorization": f"Bearer {key['secret']}"}
        body = exact(await client.get("/routing/experiments/exp-1/report", headers=as_key))
        assert body["requests"] == 4 and set(body["arms"]) == {"a"}
        assert exact(await client.get("/routing/experiments/exp-1/report", headers=ADMIN))["requests"] == 10


def test_receipts_from_before_the_experiment_column_are_found(tmp_path: Path) -> None:
    """A book at schema version 1 (the experiment only in the receipt's JSON) upgraded in place."""
    import asyncio

    from services.ledger.store.sqlite.store import SqliteLedgerStore

    db = tmp_path / "ledger.db"
    with sqlite3.connect(db, isolation_level=None) as conn:
        for statement in statements(migrations("sqlite")[0].sql):
            conn.execute(statement)
        conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                     " applied_us INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (1, 'initial', 0)")
        conn.execute("INSERT INTO receipts (request_id, run_id, ts_us, provider, input_tokens, output_tokens,"
                     " cost_micros, body, ingested_us) VALUES ('r1', 'run', 1, 'p', 10, 5, 7,"
                     " '{\"status\": \"success\", \"latency_ms\": 12.5, \"experiment\": {\"name\": \"old\","
                     " \"arm\": \"x\"}}', 1)")

    async def read() -> list:
        store = SqliteLedgerStore(db)
        await store.open()
        try:
            return await store.experiment_samples("old")
        finally:
            await store.close()

    (sample,) = asyncio.run(read())
    assert (sample.arm, sample.status, sample.latency_ms, sample.cost_micros) == ("x", "success", 12.5, 7)


async def test_first_attempts_that_failed_are_counted_from_the_receipts_attempts(ledger_at: Ledger) -> None:
    rescued = [make_receipt("0.001", experiment={"name": "exp-f", "arm": "flaky"}, fallback=True,
                            attempts=[{"provider": "p1", "status": "error", "http_status": 503, "latency_ms": 3.0},
                                      {"provider": "p2", "status": "success", "http_status": 200, "latency_ms": 9.0}])
               for _ in range(3)]
    steady = arm_receipts("flaky", 2, 0, "0.001", 10.0, experiment="exp-f") + arm_receipts(
        "steady", 4, 1, "0.001", 10.0, experiment="exp-f")
    for r in steady:
        if r["status"] == "error":
            r["attempts"] = [{"provider": "p1", "status": "error", "http_status": 500, "latency_ms": 1.0}]
    sent_nothing = make_receipt("0", status="budget_exceeded", attempts=[],
                                experiment={"name": "exp-f", "arm": "steady"})
    async with ledger_at() as client:
        await ship(client, rescued + steady + [sent_nothing])
        body = exact(await client.get("/routing/experiments/exp-f/report"))
    flaky, steady_arm = body["arms"]["flaky"], body["arms"]["steady"]
    assert (flaky["errors"], flaky["first_attempt"]["requests"], flaky["first_attempt"]["errors"]) == (0, 5, 3)
    assert (steady_arm["requests"], steady_arm["errors"]) == (5, 2)
    assert (steady_arm["first_attempt"]["requests"], steady_arm["first_attempt"]["errors"]) == (4, 1)
    assert body["comparisons"][0]["first_attempt_error_rate"]["test"] == "two-proportion z-test (pooled)"
