"""Prometheus `GET /metrics` on real processes: after real requests through the swarm, each figure
moves by exactly what was sent (parsed with prometheus-client's parser); the admin key guards it;
the ledger's card JSON (`?window=`) is unchanged beside it."""

from __future__ import annotations

import json
import secrets
from decimal import Decimal

import httpx
import pytest

from tests.e2e.conftest import wait_until
from tests.e2e.prometheus import Scrape, scrape
from tests.e2e.swarm import Swarm

MODEL = "metrics-model"
PROVIDER = "metrics-sim"


@pytest.fixture(scope="module")
def swarm(tmp_path_factory: pytest.TempPathFactory):
    s = Swarm(tmp_path_factory.mktemp("metrics"), admin_key="adm-" + secrets.token_hex(8),
              extra_env={"TOLLWAY_LEASE_IDLE_S": "600"})  # a lease stays while the test reads it
    s.start_all()
    provider = {"name": PROVIDER, "model": MODEL, "context_window": 4096, "input_per_mtok": "3",
                "output_per_mtok": "7", "endpoint": s.url("simulator")}
    assert httpx.post(s.url("router") + "/register", headers=s.admin, json=provider).status_code in (200, 201)
    s.wait_for_model(MODEL)
    yield s
    s.stop_all()


def chat(swarm: Swarm, run: str, content: str = "hi", headers: dict[str, str] | None = None,
         **extra: object) -> httpx.Response:
    body = {"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": content}], **extra}
    return httpx.post(swarm.url("gateway") + "/v1/chat/completions", json=body, timeout=30,
                      headers={"x-tollway-run": run, **(headers or {})})


def receipts_of(swarm: Swarm, run: str) -> list[dict]:
    return [json.loads(line, parse_float=Decimal) for line in (swarm.costs / f"{run}.jsonl").read_text().splitlines()]


def shipped(swarm: Swarm, run: str, count: int) -> None:
    url = swarm.url("ledger") + f"/receipts/{run}"
    wait_until(lambda: httpx.get(url, headers=swarm.admin).json()["count"] == count, timeout=10,
               what=f"{count} receipts of {run} at the ledger")


def test_request_counts_receipts_cost_and_tokens_move_by_exactly_what_was_sent(swarm: Swarm) -> None:
    n = 5
    gw, led = scrape(swarm.url("gateway"), swarm.admin), scrape(swarm.url("ledger"), swarm.admin)
    for i in range(n):
        assert chat(swarm, "m-counts", f"count {i}", temperature=0.7).status_code == 200
    assert chat(swarm, "m-counts", model="no-such-model").status_code == 404  # counted by status, no receipt
    shipped(swarm, "m-counts", n)
    gw2, led2 = scrape(swarm.url("gateway"), swarm.admin), scrape(swarm.url("ledger"), swarm.admin)
    route = {"method": "POST", "route": "/v1/chat/completions"}

    def delta(name: str, before: Scrape, after: Scrape, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert delta("tollway_http_requests_total", gw, gw2, **route, status="200") == n
    assert delta("tollway_http_requests_total", gw, gw2, **route, status="404") == 1
    assert delta("tollway_http_request_duration_seconds_count", gw, gw2, **route, status="200") == n
    assert delta("tollway_http_request_duration_seconds_bucket", gw, gw2, **route, status="200", le="+Inf") == n
    receipts = receipts_of(swarm, "m-counts")
    assert len(receipts) == n
    labels = {"provider": PROVIDER, "model": MODEL}
    assert delta("tollway_gateway_receipts_total", gw, gw2, **labels, status="success") == n
    assert delta("tollway_gateway_tokens_total", gw, gw2, **labels, kind="input") == sum(
        r["input_tokens"] for r in receipts)
    assert delta("tollway_gateway_tokens_total", gw, gw2, **labels, kind="output") == sum(
        r["output_tokens"] for r in receipts)
    cost = sum(r["cost_usd"] for r in receipts)
    assert cost > 0
    assert delta("tollway_gateway_cost_usd_total", gw, gw2, **labels) == pytest.approx(float(cost), rel=1e-9)
    # the ledger booked exactly those, once
    assert delta("tollway_ledger_receipts_ingested_total", led, led2) == n
    assert delta("tollway_ledger_spend_usd_total", led, led2, provider=PROVIDER) == pytest.approx(float(cost), rel=1e-9)
    assert delta("tollway_http_requests_total", led, led2, method="POST", route="/receipts", status="200") >= 1
    # the scrape itself is counted (after it answered): the first scrape shows in the second
    assert gw2.value("tollway_http_requests_total", method="GET", route="/metrics", status="200") >= 1
    assert gw2.value("tollway_service_info", service="gateway", version="0.1.0") == 1


def test_a_route_template_labels_requests_not_their_paths(swarm: Swarm) -> None:
    before = scrape(swarm.url("router"), swarm.admin)
    for name in ("a", "b", "c"):
        assert httpx.get(swarm.url("router") + f"/providers/{name}-missing").status_code == 404
    assert httpx.get(swarm.url("router") + f"/providers/{PROVIDER}").status_code == 200
    assert httpx.get(swarm.url("router") + "/no/such/path").status_code == 404
    after = scrape(swarm.url("router"), swarm.admin)
    one = {"method": "GET", "route": "/providers/{name}"}
    assert after.value("tollway_http_requests_total", **one, status="404") - before.value(
        "tollway_http_requests_total", **one, status="404") == 3
    assert after.value("tollway_http_requests_total", **one, status="200") - before.value(
        "tollway_http_requests_total", **one, status="200") == 1
    assert after.value("tollway_http_requests_total", method="GET", route="unmatched", status="404") - before.value(
        "tollway_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert not any("missing" in dict(labels).get("route", "") for _, labels in after.samples)
    assert after.value("tollway_router_providers", health="unknown") + after.value(
        "tollway_router_providers", health="healthy") >= 1


def test_cache_hits_breakers_and_rate_limit_refusals(swarm: Swarm) -> None:
    key = httpx.post(swarm.url("ledger") + "/keys", headers=swarm.admin,
                     json={"org": "metrics", "limits": [{"name": "rpm", "limit": 1}]}).json()
    as_key = {"authorization": f"Bearer {key['secret']}"}
    before = scrape(swarm.url("gateway"), swarm.admin)
    deterministic = {"temperature": 0}
    assert chat(swarm, "m-cache", "the same question", **deterministic).status_code == 200
    assert chat(swarm, "m-cache", "the same question", **deterministic).status_code == 200  # from the cache
    wait_until(lambda: chat(swarm, "m-limit", "first", headers=as_key).status_code == 200, what="the key admitted")
    assert chat(swarm, "m-limit", "second", headers=as_key).status_code == 429
    after = scrape(swarm.url("gateway"), swarm.admin)
    hits = [r for r in receipts_of(swarm, "m-cache") if r.get("cache") == "hit"]
    assert len(hits) == 1
    assert after.total("tollway_gateway_cache_hits_total") - before.total("tollway_gateway_cache_hits_total") == 1
    assert after.value("tollway_gateway_cache_lookups_total", result="hit_exact") - before.value(
        "tollway_gateway_cache_lookups_total", result="hit_exact") == 1
    assert after.value("tollway_gateway_cache_saved_usd_total") - before.value(
        "tollway_gateway_cache_saved_usd_total") == pytest.approx(float(hits[0]["saved_usd"]), rel=1e-9)
    assert after.value("tollway_gateway_rate_limit_refusals_total") - before.value(
        "tollway_gateway_rate_limit_refusals_total") == 1
    assert after.value("tollway_http_requests_total", method="POST", route="/v1/chat/completions", status="429") - \
        before.value("tollway_http_requests_total", method="POST", route="/v1/chat/completions", status="429") == 1
    assert after.value("tollway_gateway_breaker_state", provider=PROVIDER, state="closed") == 1
    assert after.value("tollway_gateway_breaker_state", provider=PROVIDER, state="open") == 0


def test_lease_figures_at_the_ledger_follow_the_gateway_lease(swarm: Swarm) -> None:
    before = scrape(swarm.url("ledger"), swarm.admin)
    assert httpx.post(swarm.url("ledger") + "/budget", headers=swarm.admin,
                      json={"run_id": "m-lease", "budget_usd": "5"}).status_code == 201
    swarm.wait_for_budget("m-lease")
    assert chat(swarm, "m-lease").status_code == 200
    shipped(swarm, "m-lease", 1)
    after = scrape(swarm.url("ledger"), swarm.admin)
    status = json.loads(httpx.get(swarm.url("ledger") + "/budget/m-lease", headers=swarm.admin).text,
                        parse_float=Decimal)
    grown = after.value("tollway_ledger_lease_grows_total", outcome="granted") - before.value(
        "tollway_ledger_lease_grows_total", outcome="granted")
    assert grown >= 1
    assert after.gain(before, "tollway_ledger_lease_granted_usd_total") > 0
    assert status["held_usd"] > 0  # the lease stays (TOLLWAY_LEASE_IDLE_S=600): what the ledger holds for it
    assert after.value("tollway_ledger_held_usd") == pytest.approx(float(status["held_usd"]), rel=1e-9)
    assert after.value("tollway_ledger_holds_active") == 1


def test_the_admin_key_guards_the_exposition_and_the_card_json_stays(swarm: Swarm) -> None:
    for service in ("router", "gateway", "ledger"):
        assert httpx.get(swarm.url(service) + "/metrics").status_code == 401
        assert httpx.get(swarm.url(service) + "/metrics", headers={"x-admin-key": "wrong"}).status_code == 403
        bearer = httpx.get(swarm.url(service) + "/metrics", headers={"authorization": f"Bearer {swarm.admin_key}"})
        assert bearer.status_code == 200 and "# TYPE tollway_http_requests_total counter" in bearer.text
    card = httpx.get(swarm.url("ledger") + "/metrics", params={"window": "hour"}, headers=swarm.admin)
    assert card.status_code == 200 and card.json()["window"] == "hour"
    as_json = httpx.get(swarm.url("ledger") + "/metrics", headers={**swarm.admin, "accept": "application/json"})
    assert as_json.status_code == 200 and as_json.json()["window"] == "minute"
    openmetrics = httpx.get(swarm.url("ledger") + "/metrics",
                            headers={**swarm.admin, "accept": "application/openmetrics-text; version=1.0.0"})
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n")


def test_the_unshipped_backlog_grows_while_the_ledger_is_down_and_drains(swarm: Swarm) -> None:
    swarm.stop("ledger")
    try:
        assert chat(swarm, "m-backlog").status_code == 200  # unbudgeted: flows while the ledger is down
        line = (swarm.costs / "m-backlog.jsonl").read_bytes()
        down = scrape(swarm.url("gateway"), swarm.admin)
        assert down.value("tollway_gateway_receipts_unshipped_files") >= 1
        assert down.value("tollway_gateway_receipts_unshipped_bytes") >= len(line)
    finally:
        swarm.start("ledger")
    wait_until(lambda: scrape(swarm.url("gateway"), swarm.admin).value("tollway_gateway_receipts_unshipped_bytes") == 0,
               timeout=15, what="the backlog shipped")
