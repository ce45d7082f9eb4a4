"""An A/B experiment answers its question on real processes: two simulator providers, one steady
(fast, 2 % errors, cheaper) and one flaky (slower, 15 % errors, dearer), are the arms of a sticky
50/50 experiment; a seeded workload of 300 requests goes through the gateway (after the warm-up
requests that waited for the experiment to reach it); the ledger's report counts each arm as the
receipts do and names the steady arm better, with significance."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from services.common import jsonio
from tests.e2e.conftest import wait_until
from tests.e2e.swarm import Swarm

ADMIN = "experiment-e2e-admin"
RUN = "ab-report-run"
REQUESTS = 300
ARMS = {"steady": "latency_ms=20,error_rate=0.02,seed=11", "flaky": "latency_ms=60,error_rate=0.15,seed=12"}
PRICES = {"steady": "2", "flaky": "3"}


@pytest.fixture(scope="module")
def swarm(tmp_path_factory):
    root: Path = tmp_path_factory.mktemp("experiment")
    s = Swarm(root, admin_key=ADMIN, extra_env={
        "TOLLWAY_MAX_ATTEMPTS": "1",  # no fallback to the other arm: a provider's error is the request's
        "TOLLWAY_RETRIES_PER_PROVIDER": "0",
        "TOLLWAY_BREAKER_FAILURES": "1000",  # the flaky arm stays in its arm
        "TOLLWAY_BREAKER_MIN_CALLS": "100000",
        "TOLLWAY_HEALTH_CHECK_INTERVAL_S": "3600",
    })
    s.start_all()
    yield s
    s.stop_all()


@pytest.fixture(scope="module")
def http(swarm: Swarm):
    with httpx.Client(timeout=30, headers=swarm.admin) as client:
        yield client


def route(http: httpx.Client, swarm: Swarm, i: int) -> httpx.Response:
    words = " ".join(["word"] * (5 + (i * 7) % 40))  # prompts of seeded lengths: costs vary within an arm
    body = {"run_id": RUN, "agent": f"agent-{i}", "requirements": {"model": "ab-model"},
            "payload": {"messages": [{"role": "user", "content": f"Question {i}: {words}"}], "max_tokens": 16}}
    return http.post(swarm.url("gateway") + "/route", json=body)


def test_the_report_names_the_steady_arm_better_with_counts_matching_the_receipts(swarm: Swarm, http: httpx.Client):
    for name, spec in ARMS.items():
        resp = http.post(swarm.url("router") + "/register", json={
            "name": name, "model": "ab-model", "context_window": 8192, "input_per_mtok": PRICES[name],
            "output_per_mtok": PRICES[name], "endpoint": f"{swarm.url('simulator')}/sim/{spec}"})
        assert resp.status_code in (200, 201), resp.text
    swarm.wait_for_model("ab-model")
    experiment = {"model": "ab-model", "sticky": True, "arms": [
        {"name": "steady", "provider": "steady", "percent": 50}, {"name": "flaky", "provider": "flaky", "percent": 50}]}
    assert http.put(swarm.url("router") + "/routing/experiments/ab-report", json=experiment).status_code == 201
    wait_until(lambda: "experiment" in http.post(swarm.url("gateway") + "/route", json={
        "run_id": "warm-up", "requirements": {"model": "ab-model"},
        "payload": {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}}).json().get("receipt", {}), 3.0)

    with ThreadPoolExecutor(8) as pool:
        statuses = Counter(r.status_code for r in pool.map(lambda i: route(http, swarm, i), range(REQUESTS)))
    assert set(statuses) <= {200, 502}, statuses

    lines = [json.loads(line, parse_float=Decimal) for run in (RUN, "warm-up")
             for line in (swarm.costs / f"{run}.jsonl").read_text().splitlines()]
    # on a loaded machine the first warm-up requests may go out before the experiment reaches the
    # gateway: they name no experiment, and the report rightly leaves them out
    lines = [r for r in lines if "experiment" in r or r["run_id"] != "warm-up"]
    assert len(lines) > REQUESTS and all(r["experiment"]["name"] == "ab-report" for r in lines)
    by_arm: dict[str, list[dict]] = {}
    for r in lines:
        assert r["provider"] == r["experiment"]["arm"]  # one attempt, in its own arm
        by_arm.setdefault(r["experiment"]["arm"], []).append(r)

    def report() -> httpx.Response:
        return http.get(swarm.url("ledger") + "/routing/experiments/ab-report/report")

    wait_until(lambda: report().status_code == 200 and report().json()["requests"] == len(lines), 10.0,
               "the ledger holding every receipt")
    body = jsonio.loads_exact(report().content)
    print(json.dumps(jsonio.loads(report().content), indent=1))  # the figures, for whoever runs it with -s
    assert body["requests"] == len(lines) and set(body["arms"]) == {"steady", "flaky"}
    for name, receipts in by_arm.items():
        arm = body["arms"][name]
        assert arm["requests"] == len(receipts)
        assert arm["errors"] == sum(1 for r in receipts if r["status"] != "success")
        assert arm["cost"]["total_usd"] == sum(r["cost_usd"] for r in receipts)
        answered = sorted(r["latency_ms"] for r in receipts if r["status"] == "success")
        assert arm["latency_ms"]["samples"] == len(answered)
        assert Decimal(str(arm["latency_ms"]["p50"])) == answered[(len(answered) + 1) // 2 - 1]
    assert body["better_arm"] == "steady", body["verdict"]
    assert body["verdict"].startswith("steady is better than flaky: a lower error rate")
    (c,) = body["comparisons"]
    for measure in ("error_rate", "latency_ms", "cost_per_request_usd"):
        assert c[measure]["significant"] and c[measure]["better"] == "steady", (measure, c[measure])
    assert body["arms"]["steady"]["error_rate"] < body["arms"]["flaky"]["error_rate"]
    # one attempt per request: each arm's first attempts are its requests, and failed as often
    for name, receipts in by_arm.items():
        first = body["arms"][name]["first_attempt"]
        assert (first["requests"], first["errors"]) == (len(receipts), body["arms"][name]["errors"])
    assert c["first_attempt_error_rate"]["same_as_error_rate"]
