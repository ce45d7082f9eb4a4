"""Resilience on real processes, against the simulator: a 429 retried after its Retry-After, a
provider failing every request whose circuit opens so later requests never call it, a hang cut by
the first-byte timeout and answered by the next provider, a stream stalled mid-way ended by the
idle timeout, and a dead provider taken out of selection by the router's health checks and back
in when it returns."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from tests.e2e.conftest import register, wait_until
from tests.e2e.swarm import Swarm

MESSAGES = [{"role": "user", "content": "hello there"}]


@pytest.fixture(scope="module")
def swarm(tmp_path_factory):
    s = Swarm(tmp_path_factory.mktemp("resilience"), extra_env={
        "TOLLWAY_BREAKER_FAILURES": "3",
        "TOLLWAY_BREAKER_COOLDOWN_S": "300",  # stays open for the whole module
        "TOLLWAY_RETRIES_PER_PROVIDER": "1",
        "TOLLWAY_RETRY_AFTER_MAX_S": "5",
        "TOLLWAY_HEALTH_CHECK_INTERVAL_S": "0.3",
        "TOLLWAY_HEALTH_CHECK_TIMEOUT_S": "0.5",
        "TOLLWAY_HEALTH_UNHEALTHY_AFTER": "2",
        "TOLLWAY_HEALTH_HEALTHY_AFTER": "2",
    })
    s.start_all()
    yield s
    s.stop_all()


def provider(name: str, model: str, endpoint: str, price: str, **extra) -> dict:
    return {"name": name, "model": model, "context_window": 8192, "input_per_mtok": price,
            "output_per_mtok": price, "endpoint": endpoint, **extra}


def chat(swarm: Swarm, model: str, run: str, **body) -> httpx.Response:
    return httpx.post(swarm.url("gateway") + "/v1/chat/completions", timeout=30,
                      json={"model": model, "messages": MESSAGES, "max_tokens": 4, **body},
                      headers={"X-Tollway-Run": run})


def receipts(swarm: Swarm, run: str) -> list[dict]:
    path = swarm.costs / f"{run}.jsonl"
    return [json.loads(line, parse_float=Decimal) for line in path.read_text().splitlines()]


def sim_calls(swarm: Swarm, spec: str, sim: str = "simulator") -> int:
    return httpx.get(swarm.url(sim) + "/requests").json()["by_spec"].get(spec, 0)


def gateway_caught_up(swarm: Swarm) -> bool:
    snap = httpx.get(swarm.url("router") + "/registry/snapshot").json()
    return httpx.get(swarm.url("gateway") + "/health").json()["registry"]["version"] >= snap["version"]


def health_of(swarm: Swarm, name: str) -> str:
    return httpx.get(swarm.url("router") + f"/providers/{name}").json()["health"]["status"]


def test_a_429_with_retry_after_is_retried_after_the_stated_delay(swarm, http):
    spec = "fail_first=1,status=429,retry_after=1,seed=101"
    register(http, swarm, provider("limited", "m-429", swarm.url("simulator") + "/sim/" + spec, "1"))
    swarm.wait_for_model("m-429")
    resp = chat(swarm, "m-429", "r-429")
    assert resp.status_code == 200 and resp.json()["choices"][0]["message"]["content"]
    [receipt] = receipts(swarm, "r-429")
    first, second = receipt["attempts"]
    assert (first["provider"], first["http_status"], second["provider"], second["http_status"]) == \
        ("limited", 429, "limited", 200)
    assert "retry after 1 s" in first["error"]
    assert second["started_ms"] - first["started_ms"] >= 1000  # waited what the provider asked
    assert receipt["status"] == "success" and receipt["fallback"] is False
    assert sim_calls(swarm, spec) == 2


def test_a_provider_failing_every_request_opens_its_circuit_and_is_no_longer_called(swarm, http):
    spec = "error_rate=1,status=500,seed=102"
    register(http, swarm, provider("broken", "m-brk", swarm.url("simulator") + "/sim/" + spec, "0.1"))
    register(http, swarm, provider("backup", "m-brk", swarm.url("simulator") + "/sim/seed=103", "9"))
    swarm.wait_for_model("m-brk")
    for _ in range(2):  # 2 + 1 failed calls: the third opens the circuit (3 failures)
        assert chat(swarm, "m-brk", "r-brk-open").status_code == 200
    assert sim_calls(swarm, spec) == 3
    breakers = httpx.get(swarm.url("gateway") + "/admin/breakers").json()["breakers"]
    assert breakers["broken"]["state"] == "open" and breakers["broken"]["reason"] == "3 consecutive failures"
    assert httpx.get(swarm.url("gateway") + "/health").json()["breakers"]["not_closed"] == {"broken": "open"}

    for _ in range(5):
        assert chat(swarm, "m-brk", "r-brk-skip").status_code == 200
    assert sim_calls(swarm, spec) == 3  # the simulator never saw another call
    for r in receipts(swarm, "r-brk-skip"):
        assert r["provider"] == "backup" and [a["provider"] for a in r["attempts"]] == ["backup"]
        assert "skipped broken (circuit open (3 consecutive failures)" in r["reason"]


def test_a_hang_hits_the_first_byte_timeout_and_the_next_provider_answers(swarm, http):
    register(http, swarm, provider("stuck", "m-hang", swarm.url("simulator") + "/sim/hang=1,seed=104", "0.1",
                                   timeouts={"first_byte_s": 0.4}))
    register(http, swarm, provider("rescuer", "m-hang", swarm.url("simulator") + "/sim/seed=105", "9"))
    swarm.wait_for_model("m-hang")
    resp = chat(swarm, "m-hang", "r-hang")
    assert resp.status_code == 200 and resp.headers["x-tollway-fallback"] == "true"
    [receipt] = receipts(swarm, "r-hang")
    assert receipt["provider"] == "rescuer" and receipt["fallback"] is True
    assert [(a["provider"], a["error"] if a["status"] == "error" else "ok") for a in receipt["attempts"]] == [
        ("stuck", "first byte timeout: no answer within 0.4 s")] * 2 + [("rescuer", "ok")]


def test_a_stream_that_stalls_mid_way_ends_with_an_error_event_and_a_truncated_receipt(swarm, http):
    stalls = swarm.url("simulator") + "/sim/stall=1,tps=0,tokens=8,seed=106"
    register(http, swarm, provider("staller", "m-stall", stalls, "1", timeouts={"idle_s": 0.5}))
    register(http, swarm, provider("never-used", "m-stall", swarm.url("simulator"), "9"))
    swarm.wait_for_model("m-stall")
    with httpx.stream("POST", swarm.url("gateway") + "/v1/chat/completions", timeout=30,
                      json={"model": "m-stall", "messages": MESSAGES, "stream": True},
                      headers={"X-Tollway-Run": "r-stall"}) as resp:
        assert resp.status_code == 200
        text = resp.read().decode()
    events = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]
    assert any(e.get("choices") and e["choices"][0]["delta"].get("content") for e in events)  # some came through
    assert "[DONE]" not in text
    error = events[-1]["error"]
    assert error["type"] == "upstream_timeout"
    assert "idle timeout" in error["message"] and "no fallback after the first byte" in error["message"]
    [receipt] = receipts(swarm, "r-stall")
    assert receipt["provider"] == "staller" and receipt["status"] == "error"
    assert receipt["error"]["type"] == "truncated" and "no data for 0.5 s (idle timeout)" in receipt["error"]["message"]
    assert receipt["ttft_ms"] > 0 and receipt["output_tokens"] > 0 and receipt["cost_usd"] > 0


def test_a_dead_provider_leaves_selection_by_health_checks_and_returns_when_back(swarm, http):
    swarm.start("simulator", name="sim2")
    register(http, swarm, provider("fragile", "m-health", swarm.url("sim2"), "0.1"))
    register(http, swarm, provider("sturdy", "m-health", swarm.url("simulator"), "9"))
    swarm.wait_for_model("m-health")
    wait_until(lambda: health_of(swarm, "fragile") == "healthy", 15.0, what="fragile checked healthy")
    assert chat(swarm, "m-health", "r-health-before").status_code == 200
    assert receipts(swarm, "r-health-before")[0]["provider"] == "fragile"

    swarm.stop("sim2")
    wait_until(lambda: health_of(swarm, "fragile") == "unhealthy" and gateway_caught_up(swarm), 15.0,
               what="the gateway learning fragile is unhealthy")
    reason = httpx.get(swarm.url("router") + "/providers/fragile").json()["health"]["reason"]
    assert reason.startswith("2 health checks failed in a row: cannot reach it")
    for _ in range(3):
        assert chat(swarm, "m-health", "r-health-down").status_code == 200
    for r in receipts(swarm, "r-health-down"):
        assert [a["provider"] for a in r["attempts"]] == ["sturdy"]  # fragile is not even tried
        assert "fragile (unhealthy (2 health checks failed in a row" in r["reason"]

    swarm.start("simulator", name="sim2")  # the same port again
    wait_until(lambda: health_of(swarm, "fragile") == "healthy" and gateway_caught_up(swarm), 15.0,
               what="fragile coming back")
    assert chat(swarm, "m-health", "r-health-back").status_code == 200
    assert receipts(swarm, "r-health-back")[0]["provider"] == "fragile"
    swarm.stop("sim2")
