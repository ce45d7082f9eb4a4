"""Analytics through real processes: requests go through the gateway (one virtual key with an org
and a tag, one anonymous caller) to two simulator providers; the gateway ships the receipts; the
ledger's series and breakdown equal the run files to the microdollar, its latency quantiles are
within 1 % of the receipts' own, and a virtual key sees only its tenant. The gateway forwards the
ledger's card, a run's receipts and budget, and the analytics reads with the caller's credentials,
and answers 503 with a JSON body when the ledger is down."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import wait_until
from tests.e2e.swarm import Swarm, free_port

ADMIN = "analytics-e2e-admin"
RUN = "analytics-run"
MODELS = {"an-small": "latency_ms=5,seed=3", "an-large": "latency_ms=30,seed=4"}


@pytest.fixture(scope="module")
def swarm(tmp_path_factory):
    root: Path = tmp_path_factory.mktemp("analytics")
    s = Swarm(root, admin_key=ADMIN)
    s.start_all()
    yield s
    s.stop_all()


@pytest.fixture(scope="module")
def http(swarm: Swarm):
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def traffic(swarm: Swarm, http: httpx.Client) -> dict:
    """Ten requests with the key and six without, on both models; the receipts, once shipped."""
    for i, (model, spec) in enumerate(MODELS.items()):
        resp = http.post(swarm.url("router") + "/register", headers=swarm.admin, json={
            "name": f"an-sim-{i}", "model": model, "context_window": 8192, "input_per_mtok": str(3 + i),
            "output_per_mtok": str(7 + i), "endpoint": f"{swarm.url('simulator')}/sim/{spec}"})
        assert resp.status_code in (200, 201), resp.text
    for model in MODELS:
        swarm.wait_for_model(model)
    key = http.post(swarm.url("ledger") + "/keys", json={"org": "acme", "team": "ml", "user": "ann",
                                                          "metadata": {"project": "alpha"}}, headers=swarm.admin).json()
    as_key = {"authorization": f"Bearer {key['secret']}", "x-tollway-run": RUN}

    def chat(model: str, headers: dict[str, str], i: int) -> httpx.Response:
        return httpx.post(swarm.url("gateway") + "/v1/chat/completions", headers=headers, timeout=30, json={
            "model": model, "max_tokens": 8 + i, "messages": [{"role": "user", "content": f"question {i} " * (i + 1)}]})

    wait_until(lambda: chat("an-small", as_key, 0).status_code == 200, 10.0, "the gateway knows the key")
    for i in range(1, 10):
        assert chat(list(MODELS)[i % 2], as_key, i).status_code == 200
    for i in range(6):
        assert chat(list(MODELS)[i % 2], {"x-tollway-run": RUN}, i).status_code == 200
    lines = [json.loads(line, parse_float=Decimal) for line in (swarm.costs / f"{RUN}.jsonl").read_text().splitlines()]
    assert len(lines) == 16

    def shipped() -> bool:
        body = http.get(swarm.url("ledger") + "/analytics/breakdown", params={"run": RUN},
                        headers=swarm.admin).json()
        return sum(g["requests"] for g in body["groups"]) == 16

    wait_until(shipped, 10.0, "the ledger has every receipt")
    return {"key": key, "receipts": lines}


def micros(amount: Decimal) -> int:
    return int(amount * 1_000_000)


def test_series_and_breakdown_equal_the_run_file(swarm: Swarm, http: httpx.Client, traffic: dict) -> None:
    receipts = traffic["receipts"]
    resp = http.get(swarm.url("ledger") + "/analytics/series", headers=swarm.admin,
                    params={"grain": "minute", "run": RUN, "group_by": "model,org"})
    assert resp.status_code == 200, resp.text
    points = resp.json()["points"]
    got: dict[tuple, list[int]] = {}
    for p in points:
        acc = got.setdefault((p["group"]["model"], p["group"]["org"]), [0, 0, 0])
        acc[0] += p["cost_micros"]
        acc[1] += p["requests"]
        acc[2] += p["input_tokens"]
        assert Decimal(p["cost_usd"]) * 1_000_000 == p["cost_micros"]
    want: dict[tuple, list[int]] = {}
    for r in receipts:
        acc = want.setdefault((r["model"], r.get("org")), [0, 0, 0])
        acc[0] += micros(r["cost_usd"])
        acc[1] += 1
        acc[2] += r["input_tokens"]
    assert got == want and len(want) == 4  # two models x (acme, none)

    body = http.get(swarm.url("ledger") + "/analytics/breakdown", headers=swarm.admin,
                    params={"run": RUN, "group_by": "provider"}).json()
    for group in body["groups"]:
        mine = sorted(float(r["latency_ms"]) for r in receipts if r["provider"] == group["group"]["provider"])
        assert group["cost_micros"] == sum(micros(r["cost_usd"]) for r in receipts
                                           if r["provider"] == group["group"]["provider"])
        for q, name in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99")):
            exact = mine[math.floor(q * (len(mine) - 1))]
            assert abs(group["latency_ms"][name] - exact) <= 0.01 * exact + 1e-6, (name, exact, group)
    csv = http.get(swarm.url("ledger") + "/analytics/breakdown", headers=swarm.admin,
                   params={"run": RUN, "group_by": "tag", "format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    tagged = [line.split(",") for line in csv.text.splitlines()[1:]]
    assert [(t[0], int(t[3])) for t in tagged] == [("project:alpha", 10)]


def test_a_virtual_key_sees_its_tenant_only(swarm: Swarm, traffic: dict) -> None:
    key = {"authorization": f"Bearer {traffic['key']['secret']}"}
    body = httpx.get(swarm.url("ledger") + "/analytics/breakdown", headers=key,
                     params={"run": RUN, "group_by": "org"}).json()
    assert body["tenant"] == "org:acme"
    assert [(g["group"]["org"], g["requests"]) for g in body["groups"]] == [("acme", 10)]


def test_the_gateway_forwards_the_ledgers_reads_with_the_callers_credentials(swarm: Swarm, traffic: dict) -> None:
    gateway, ledger, admin = swarm.url("gateway"), swarm.url("ledger"), swarm.admin
    for path in ("/metrics?window=minute", "/metrics?window=day", f"/receipts/{RUN}"):
        via, direct = httpx.get(gateway + path, headers=admin), httpx.get(ledger + path, headers=admin)
        assert via.status_code == 200 and via.headers["content-type"] == "application/json"
        if path.startswith("/metrics"):
            assert via.json()["totals"] == direct.json()["totals"] and via.json()["totals"]["requests"] >= 16
        else:
            assert via.json() == direct.json() and via.json()["count"] == 16
    key = {"authorization": f"Bearer {traffic['key']['secret']}"}
    assert httpx.get(f"{gateway}/receipts/{RUN}", headers=key).json()["count"] == 10  # its tenant's, as at the ledger
    one = httpx.get(ledger + f"/receipts/{RUN}", headers=admin).json()["receipts"][0]
    by_id = httpx.get(f"{gateway}/receipts/by-id/{one['request_id']}", headers=admin)
    assert by_id.status_code == 200 and by_id.json() == httpx.get(
        f"{ledger}/receipts/by-id/{one['request_id']}", headers=admin).json()
    assert httpx.get(f"{gateway}/receipts/by-id/no-such-request", headers=admin).status_code == 404
    assert httpx.get(f"{gateway}/metrics?window=fortnight").json()["error"]["field"] == "window"
    # budgets: a write needs the admin key, the gateway's own is never lent to the caller
    budget = {"run_id": "analytics-budgeted", "budget_usd": "1.5"}
    assert httpx.post(gateway + "/budget", json=budget).status_code == 401
    made = httpx.post(gateway + "/budget", json=budget, headers=admin)
    assert made.status_code in (200, 201), made.text
    shown = httpx.get(gateway + "/budget/analytics-budgeted")
    assert shown.status_code == 200 and Decimal(str(shown.json()["budget_usd"])) == Decimal("1.5")
    assert httpx.get(gateway + "/budget/..").status_code in (400, 404)
    assert httpx.delete(gateway + "/budget/analytics-budgeted", headers=admin).status_code in (200, 204)
    assert httpx.get(gateway + "/budget/analytics-budgeted").status_code == 404


def test_the_gateway_forwards_the_analytics_reads_with_the_callers_credentials(swarm: Swarm, traffic: dict) -> None:
    gateway, ledger, admin = swarm.url("gateway"), swarm.url("ledger"), swarm.admin
    now = datetime.now(UTC).replace(microsecond=0)
    since, until = (now - timedelta(days=1)).isoformat(), (now + timedelta(hours=1)).isoformat()
    ranged = {"since": since, "until": until}
    reads = {"/analytics/series": {**ranged, "run": RUN, "grain": "hour", "group_by": "model"},
             "/analytics/breakdown": {**ranged, "run": RUN, "group_by": "model,provider"},
             "/analytics/projection": {"until": until, "horizon": "week"},
             "/analytics/anomalies": ranged, "/analytics/recommendations": {**ranged, "run": RUN}}
    for path, params in reads.items():
        via, direct = httpx.get(gateway + path, headers=admin, params=params), httpx.get(ledger + path, headers=admin,
                                                                                         params=params)
        assert via.status_code == direct.status_code == 200, (path, via.text)
        assert via.headers["content-type"] == "application/json" and via.json() == direct.json(), path
    breakdown = httpx.get(gateway + "/analytics/breakdown", headers=admin, params=reads["/analytics/breakdown"]).json()
    assert sum(g["requests"] for g in breakdown["groups"]) == 16
    # a parameter given twice reaches the ledger twice: both models, not the last one
    both = httpx.get(gateway + "/analytics/breakdown", headers=admin, params=[
        *ranged.items(), ("run", RUN), ("group_by", "model"), ("model", "an-small"), ("model", "an-large")]).json()
    assert sorted(g["group"]["model"] for g in both["groups"]) == sorted(MODELS)
    # the caller's own key: its tenant only, as at the ledger; a key the ledger refuses is its 401
    key = {"authorization": f"Bearer {traffic['key']['secret']}"}
    mine = httpx.get(gateway + "/analytics/breakdown", headers=key, params={**ranged, "run": RUN, "group_by": "org"})
    assert mine.json()["tenant"] == "org:acme" and [g["requests"] for g in mine.json()["groups"]] == [10]
    refused = httpx.get(gateway + "/analytics/series", headers={"authorization": "Bearer tw-not-a-key"})
    assert refused.status_code == 401 and refused.json()["error"]["type"]
    # CSV comes back as the ledger's attachment; a bad field is the ledger's 400 naming it
    csv = httpx.get(gateway + "/analytics/breakdown", headers=admin,
                    params={**ranged, "run": RUN, "group_by": "tag", "format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"] == 'attachment; filename="breakdown.csv"'
    assert csv.text == httpx.get(ledger + "/analytics/breakdown", headers=admin,
                                 params={**ranged, "run": RUN, "group_by": "tag", "format": "csv"}).text
    bad = httpx.get(gateway + "/analytics/projection", headers=admin, params={"horizon": "decade"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "horizon"


def test_a_gateway_with_a_dead_ledger_address_first_forwards_to_the_next(swarm: Swarm, traffic: dict) -> None:
    """TOLLWAY_LEDGER_URL with two addresses, the first refusing connections: reads and writes on
    the gateway's port reach the second (the one the receipts and leases fail over to)."""
    dead = f"http://127.0.0.1:{free_port()}"
    swarm.start("gateway", name="gateway-2", env={"TOLLWAY_LEDGER_URL": f"{dead},{swarm.url('ledger')}"})
    try:
        gateway, ledger, admin = swarm.url("gateway-2"), swarm.url("ledger"), swarm.admin
        for path, part in (("/metrics?window=day", "totals"), (f"/receipts/{RUN}", "receipts"),
                           ("/analytics/breakdown?group_by=model", "groups")):
            via, direct = httpx.get(gateway + path, headers=admin), httpx.get(ledger + path, headers=admin)
            assert via.status_code == 200, (path, via.text)
            assert via.json()[part] == direct.json()[part] and via.json()[part], path
        made = httpx.post(gateway + "/budget", json={"run_id": "analytics-failover", "budget_usd": "2"}, headers=admin)
        assert made.status_code in (200, 201), made.text
        assert Decimal(str(httpx.get(ledger + "/budget/analytics-failover").json()["budget_usd"])) == Decimal(2)
    finally:
        swarm.stop("gateway-2")


def test_a_ledger_that_is_down_is_a_503_with_a_json_body(swarm: Swarm, traffic: dict) -> None:
    swarm.stop("ledger")
    try:
        for path in ("/metrics?window=hour", f"/receipts/{RUN}", "/budget/analytics-run", "/analytics/series"):
            resp = httpx.get(swarm.url("gateway") + path, headers=swarm.admin)
            assert resp.status_code == 503, (path, resp.text)
            assert resp.json()["error"]["type"] == "service_unavailable"
    finally:
        swarm.start("ledger")
