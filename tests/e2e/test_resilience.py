"""No receipt lost: a gateway killed with SIGKILL, a ledger down for a while."""

import json
import signal
import time
from decimal import Decimal

import httpx
import pytest

from tests.e2e.conftest import register


@pytest.fixture(scope="module")
def model(swarm, http):
    register(
        http,
        swarm,
        {
            "name": "res-sim",
            "model": "res-model",
            "context_window": 4096,
            "input_per_mtok": "3",
            "output_per_mtok": "7",
            "endpoint": swarm.url("simulator"),
        },
    )
    swarm.wait_for_model("res-model")
    return "res-model"


def send(http, swarm, run, n, prefix):
    codes = []
    for i in range(n):
        r = http.post(
            swarm.url("gateway") + "/v1/chat/completions",
            json={"model": "res-model", "max_tokens": 3, "messages": [{"role": "user", "content": f"{prefix}{i}"}]},
            headers={"X-Tollway-Run": run},
        )
        codes.append(r.status_code)
    return codes


def ledger_view(http, swarm, run):
    return json.loads(http.get(swarm.url("ledger") + f"/receipts/{run}").text, parse_float=Decimal)


def wait_count(http, swarm, run, n, timeout=15.0):
    deadline = time.monotonic() + timeout
    view = ledger_view(http, swarm, run)
    while time.monotonic() < deadline and view["count"] < n:
        time.sleep(0.1)
        view = ledger_view(http, swarm, run)
    return view


def file_receipts(swarm, run):
    return [json.loads(x, parse_float=Decimal) for x in (swarm.costs / f"{run}.jsonl").read_text().splitlines()]


def test_sigkilled_gateway_loses_no_receipt(swarm, http, model):
    # the ledger is stopped so receipts pile up unshipped, then the gateway is killed outright
    swarm.stop("ledger")
    assert send(http, swarm, "killed", 15, "k") == [200] * 15
    swarm.stop("gateway", signal.SIGKILL)
    assert len(file_receipts(swarm, "killed")) == 15  # every answered request is on disk
    swarm.start("ledger")
    swarm.start("gateway")
    view = wait_count(http, swarm, "killed", 15)
    assert view["count"] == 15
    assert view["total_cost_usd"] == sum((r["cost_usd"] for r in file_receipts(swarm, "killed")), Decimal(0))


def _budget_log(swarm, since: int) -> list[dict]:
    """The gateway's log lines about reaching the ledger for budgets, written after offset `since`."""
    lines = [json.loads(x) for x in swarm.log("gateway")[since:].splitlines() if x.startswith("{")]
    return [x for x in lines if x["event"].startswith("ledger_") and ("budget" in x or "failures" in x)]


def test_ledger_down_unbudgeted_runs_keep_flowing_budgeted_runs_fail_closed(swarm, http, model):
    http.post(swarm.url("ledger") + "/budget", json={"run_id": "guarded", "budget_usd": 100})
    swarm.wait_for_budget("guarded")
    since = len(swarm.log("gateway"))
    swarm.stop("ledger")
    try:
        assert send(http, swarm, "free", 10, "f") == [200] * 10
        for _ in range(40):  # one log line for all of them, not one each
            refused = http.post(
                swarm.url("gateway") + "/v1/chat/completions",
                json={"model": "res-model", "messages": [{"role": "user", "content": "x"}]},
                headers={"X-Tollway-Run": "guarded"},
            )
            assert refused.status_code == 503
            assert "ledger" in refused.json()["error"]["message"]
            assert refused.headers["retry-after"] == "2"  # worth trying again shortly
        health = httpx.get(swarm.url("gateway") + "/health").json()
        assert health["receipts"]["backlog_files"] >= 1
    finally:
        swarm.start("ledger")
    view = wait_count(http, swarm, "free", 10)
    assert view["count"] == 10
    time.sleep(1.0)  # give a duplicate delivery time to show up, if there were one
    assert ledger_view(http, swarm, "free")["count"] == 10
    assert send(http, swarm, "guarded", 1, "g") == [200]
    logged = _budget_log(swarm, since)
    events = [x["event"] for x in logged]
    assert events[0] == "ledger_unreachable" and events[-1] == "ledger_reachable_again", events
    assert events.count("ledger_unreachable") == 1 and len(events) <= 4, events  # a "still" line every 5 s
    assert logged[-1]["failures"] >= 40  # every failure counted, few written
