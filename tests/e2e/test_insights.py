"""Projection, anomalies and recommendations through real processes. Identical questions sent
through the gateway (response cache off) come back as receipts carrying one prompt_hash and never
the prompt's text; the ledger's recommendation prices the repeats at exactly the run file's cost of
them. Receipts booked at the ledger over past days give a known projection and a known spike."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from services.common import jsonio
from tests.e2e.conftest import wait_until
from tests.e2e.swarm import Swarm

ADMIN = "insights-e2e-admin"
RUN = "insights-run"
QUESTION = "Which planet has the most moons? " * 8


@pytest.fixture(scope="module")
def swarm(tmp_path_factory):
    root: Path = tmp_path_factory.mktemp("insights")
    s = Swarm(root, admin_key=ADMIN, extra_env={"TOLLWAY_CACHE_ENABLED": "false"})
    s.start_all()
    yield s
    s.stop_all()


def test_repeated_questions_are_a_cache_opportunity_priced_exactly(swarm: Swarm) -> None:
    resp = httpx.post(swarm.url("router") + "/register", headers=swarm.admin, json={
        "name": "in-sim", "model": "in-model", "context_window": 8192, "input_per_mtok": "3",
        "output_per_mtok": "15", "endpoint": f"{swarm.url('simulator')}/sim/latency_ms=2,seed=5"})
    assert resp.status_code in (200, 201), resp.text
    swarm.wait_for_model("in-model")
    for _ in range(4):
        resp = httpx.post(swarm.url("gateway") + "/v1/chat/completions", headers={"x-tollway-run": RUN}, timeout=30,
                          json={"model": "in-model", "max_tokens": 32,
                                "messages": [{"role": "user", "content": QUESTION}]})
        assert resp.status_code == 200, resp.text
    text = (swarm.costs / f"{RUN}.jsonl").read_text()
    assert "planet" not in text  # the prompt's text is never on a receipt
    lines = [json.loads(line, parse_float=Decimal) for line in text.splitlines()]
    assert len({r["prompt_hash"] for r in lines}) == 1 and {r["max_tokens"] for r in lines} == {32}
    repeats = sum(int(r["cost_micros"]) for r in lines[1:])

    def shipped() -> bool:
        body = httpx.get(swarm.url("ledger") + "/analytics/breakdown", params={"run": RUN},
                         headers=swarm.admin).json()
        return sum(g["requests"] for g in body["groups"]) == 4

    wait_until(shipped, 10.0, "the ledger has every receipt")
    body = httpx.get(swarm.url("ledger") + "/analytics/recommendations", params={"run": RUN},
                     headers=swarm.admin).json()
    (cache,) = [r for r in body["recommendations"] if r["kind"] == "cache_opportunity"]
    assert cache["estimated_saving_micros"] == repeats > 0 and cache["requests"] == 3
    assert cache["example_request_ids"] == [r["request_id"] for r in lines[1:]]


def booked(at: datetime, cost: str, n: int) -> dict[str, object]:
    return {"request_id": f"in-{n:05d}", "run_id": "in-history", "agent": "t",
            "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "provider": "in-sim", "model": "in-model",
            "input_tokens": 10, "output_tokens": 10, "input_cost_usd": Decimal(0), "output_cost_usd": Decimal(cost),
            "cost_usd": Decimal(cost), "prices": {"input_per_mtok": Decimal(3), "output_per_mtok": Decimal(15)},
            "latency_ms": 5.0, "status": "success", "fallback": False, "attempts": [], "strategy": "cost",
            "reason": "e2e", "stream": False, "usage_estimated": False}


def test_projection_and_a_spike_from_booked_history(swarm: Swarm) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    receipts, n = [], 0
    for back in range(1, 11):  # ten days of $2.00 a day, booked at 12:00 (a flat line)
        n += 1
        receipts.append(booked(today - timedelta(days=back) + timedelta(hours=12), "2.000000", n))
    n += 1
    spike = today - timedelta(days=1) + timedelta(hours=12, minutes=30)
    receipts.append(booked(spike, "0.000000", n))  # an hour of $2.00 like every other day: no spike yet
    resp = httpx.post(swarm.url("ledger") + "/receipts", headers={**swarm.admin, "content-type": "application/json"},
                      content=jsonio.dumps({"receipts": receipts}))
    assert resp.status_code == 200, resp.text
    week = httpx.get(swarm.url("ledger") + "/analytics/projection", params={"horizon": "week", "run": "in-history"},
                     headers=swarm.admin).json()
    assert week["history"]["days"] == 10 and week["projection"]["cost_usd"] == "14.000000"
    assert week["projection"]["low_usd"] == week["projection"]["high_usd"] == "14.000000"
    window = {"since": (today - timedelta(days=1)).isoformat().replace("+00:00", "Z"),
              "until": today.isoformat().replace("+00:00", "Z"), "run": "in-history"}
    assert httpx.get(swarm.url("ledger") + "/analytics/anomalies", params=window,
                     headers=swarm.admin).json()["anomalies"] == []
    n += 1
    resp = httpx.post(swarm.url("ledger") + "/receipts", headers={**swarm.admin, "content-type": "application/json"},
                      content=jsonio.dumps({"receipts": [booked(spike, "9.000000", n)]}))
    assert resp.status_code == 200, resp.text
    found = httpx.get(swarm.url("ledger") + "/analytics/anomalies", params=window, headers=swarm.admin).json()
    assert [(a["start"][:13], a["value"]) for a in found["anomalies"]] == [(spike.strftime("%Y-%m-%dT%H"),
                                                                           "11.000000")]
    bad = httpx.get(swarm.url("ledger") + "/analytics/anomalies", params={"metric": "latency"}, headers=swarm.admin)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "metric"
