"""Budgets on real processes: a budget stops a run with a 402 and nothing upstream, and holds
keep spend under the cap with 100 concurrent requests."""

import asyncio
import json
import time
from decimal import Decimal

import httpx
import pytest

from tests.e2e.conftest import register

SWARM_BACKENDS = ("sqlite", "postgres")  # budgets on either backend of the ledger and router


@pytest.fixture(scope="module")
def model(swarm, http):
    register(http, swarm, {"name": "budget-sim", "model": "budget-model", "context_window": 4096,
                           "input_per_mtok": "1000", "output_per_mtok": "2000",
                           "endpoint": swarm.url("simulator")})
    swarm.wait_for_model("budget-model")
    return "budget-model"


def chat(run_id, content="hello", max_tokens=10):
    return {"model": "budget-model", "max_tokens": max_tokens, "messages": [{"role": "user", "content": content}]}


def status(http, swarm, run_id):
    return json.loads(http.get(swarm.url("ledger") + f"/budget/{run_id}").text, parse_float=Decimal)


def test_budget_stops_a_run_at_its_cap(swarm, http, model):
    resp = http.post(swarm.url("ledger") + "/budget", params={"run_id": "capped", "budget_usd": "0.2"})
    assert resp.status_code in (200, 201), resp.text
    swarm.wait_for_budget("capped")
    codes = []
    for _ in range(40):
        r = http.post(swarm.url("gateway") + "/v1/chat/completions", json=chat("capped"),
                      headers={"X-Tollway-Run": "capped"})
        codes.append(r.status_code)
        if r.status_code == 402:
            err = r.json()["error"]
            assert err["type"] == "budget_exceeded" and "capped" in err["message"]
            break
    assert codes[-1] == 402 and set(codes[:-1]) == {200}
    receipts = [json.loads(line, parse_float=Decimal)
                for line in (swarm.costs / "capped.jsonl").read_text().splitlines()]
    refused = receipts[-1]
    assert refused["status"] == "budget_exceeded" and refused["attempts"] == [] and refused["cost_usd"] == 0
    time.sleep(0.5)
    st = status(http, swarm, "capped")
    assert st["spent_usd"] <= Decimal("0.2")
    assert st["spent_usd"] == sum((r["cost_usd"] for r in receipts), Decimal(0))
    assert st["level"] in ("warning", "critical", "caution")
    # refused only when the request's worst case really did not fit, not because earlier
    # receipts were still on their way to the ledger
    assert st["budget_usd"] - st["spent_usd"] < refused["hold_usd"]


def test_json_body_budget_and_levels(swarm, http, model):
    resp = http.post(swarm.url("ledger") + "/budget", json={"run_id": "levels", "budget_usd": 5})
    assert resp.status_code in (200, 201)
    st = status(http, swarm, "levels")
    assert st["budget_usd"] == 5 and st["level"] == "ok" and st["spent_usd"] == 0


def test_budget_never_overshoots_under_100_concurrent_requests(swarm, http, model):
    run = "race"
    # each request costs about 0.02-0.03 (<=10 output tokens at $2000/Mtok + input at $1000/Mtok)
    http.post(swarm.url("ledger") + "/budget", json={"run_id": run, "budget_usd": "0.5"})
    swarm.wait_for_budget(run)

    async def fire():
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(*[
                client.post(swarm.url("gateway") + "/v1/chat/completions", json=chat(run, f"q{i}"),
                            headers={"X-Tollway-Run": run}) for i in range(100)])

    results = asyncio.run(fire())
    codes = [r.status_code for r in results]
    assert codes.count(200) >= 1 and codes.count(402) >= 1
    assert set(codes) <= {200, 402}, codes
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        st = status(http, swarm, run)
        if st["held_usd"] == 0:
            break
        time.sleep(0.1)
    assert st["held_usd"] == 0, "holds were not settled"
    assert st["spent_usd"] <= Decimal("0.5")
    lines = (swarm.costs / f"{run}.jsonl").read_text().splitlines()
    file_spend = sum((json.loads(x, parse_float=Decimal)["cost_usd"] for x in lines), Decimal(0))
    assert file_spend == st["spent_usd"] and file_spend <= Decimal("0.5")
    assert len(lines) == 100


def test_request_id_follows_the_request_into_the_ledgers_log(swarm, http, model):
    http.post(swarm.url("ledger") + "/budget", json={"run_id": "traced", "budget_usd": 10})
    swarm.wait_for_budget("traced")
    r = http.post(swarm.url("gateway") + "/v1/chat/completions", json=chat("traced"),
                  headers={"X-Tollway-Run": "traced", "X-Request-ID": "trace-me-42"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "trace-me-42"
    deadline = time.monotonic() + 5  # the gateway's access line is written just after the answer is sent
    while time.monotonic() < deadline and not ("trace-me-42" in swarm.log("ledger") and any(
            "trace-me-42" in x and "/v1/chat/completions" in x for x in swarm.log("gateway").splitlines())):
        time.sleep(0.1)
    ledger_lines = [json.loads(x) for x in swarm.log("ledger").splitlines() if "trace-me-42" in x]
    assert {line["request_id"] for line in ledger_lines} == {"trace-me-42"}
    assert {line["path"] for line in ledger_lines} == {"/leases"}  # the run's first request grew its lease
    gateway_lines = [json.loads(x) for x in swarm.log("gateway").splitlines() if "trace-me-42" in x]
    assert any(line.get("path") == "/v1/chat/completions" for line in gateway_lines)
    # the receipt reached the ledger and the idle lease was given back
    while time.monotonic() < deadline and status(http, swarm, "traced")["held_usd"] != 0:
        time.sleep(0.05)
    assert status(http, swarm, "traced")["held_usd"] == 0 and status(http, swarm, "traced")["spent_usd"] > 0
