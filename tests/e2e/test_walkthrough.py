"""The README walk-through, on real processes and ports: register, select, route (curl-style
httpx and the openai SDK, plain and streaming), receipts on disk, ledger totals."""

import json
import shutil
import subprocess
import time
from decimal import Decimal

import jsonschema
import openai
import pytest

from services.common import contracts
from tests.e2e.conftest import register

README_PROVIDER = {"name": "my-gpt4", "model": "gpt-4", "context_window": 8192,
                   "cost_per_input_token": 0.00003, "cost_per_output_token": 0.00006,
                   "endpoint": "http://localhost:8100", "features": ["function_calling", "vision"],
                   "slo": {"latency_p95_ms": 2000}}


def read_receipts(swarm, run_id):
    path = swarm.costs / f"{run_id}.jsonl"
    return [json.loads(line, parse_float=Decimal) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def providers(swarm, http):
    sim = swarm.url("simulator")
    # the README's body, accepted as is (its endpoint is re-pointed at this test's simulator after)
    first = register(http, swarm, README_PROVIDER)
    assert first["provider"]["input_per_mtok"] == 30
    register(http, swarm, {**README_PROVIDER, "endpoint": sim})
    register(http, swarm, {"name": "cheap-gpt4", "model": "gpt-4", "context_window": 8192,
                           "input_per_mtok": "10", "output_per_mtok": "30", "endpoint": sim,
                           "slo": {"latency_p95_ms": 3000}})
    register(http, swarm, {"name": "fast-gpt4", "model": "gpt-4", "context_window": 8192,
                           "input_per_mtok": "20", "output_per_mtok": "40", "endpoint": sim,
                           "api_format": "openai", "api_key_env": "TOLLWAY_PROVIDER_KEY_SIM",
                           "slo": {"latency_p95_ms": 300}})
    swarm.wait_for_model("gpt-4")
    return sim


def test_a_registration_reaches_the_gateway_within_a_second(swarm, http, providers):
    register(http, swarm, {"name": "late", "model": "late-model", "context_window": 1000,
                           "input_per_mtok": 1, "output_per_mtok": 1, "endpoint": providers})
    assert swarm.wait_for_model("late-model", timeout=1.0) < 1.0


def test_select_explains_its_choice(swarm, http, providers):
    body = {"requirements": {"model": "gpt-4", "context_window": 4000, "features": []}, "optimization": "cost"}
    decision = http.post(swarm.url("router") + "/select", json=body).json()
    jsonschema.validate(decision, contracts.schema("routing_decision"))
    assert decision["provider"] == "cheap-gpt4"
    assert "cheapest" in decision["reason"] and "$" in decision["reason"]
    assert [a["provider"] for a in decision["alternatives"]] == ["fast-gpt4", "my-gpt4"]
    latency = http.post(swarm.url("router") + "/select", json={**body, "optimization": "latency"}).json()
    assert latency["provider"] == "fast-gpt4"
    missing = http.post(swarm.url("router") + "/select", json={"requirements": {"model": "gpt-9"}})
    assert missing.status_code == 404
    assert "gpt-9" in missing.json()["error"]["message"]


def test_route_returns_answer_decision_and_receipt(swarm, http, providers):
    body = {"request_id": "req-walk-1", "run_id": "walk", "agent": "my-agent",
            "requirements": {"model": "gpt-4", "context_window": 4000}, "optimization": "cost",
            "payload": {"messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 12}}
    resp = http.post(swarm.url("gateway") + "/route", json=body)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["decision"]["provider"] == "cheap-gpt4"
    assert out["response"]["choices"][0]["message"]["content"]
    receipt = out["receipt"]
    jsonschema.validate(receipt, contracts.schema("routing_receipt"))
    usage = out["response"]["usage"]
    assert receipt["input_tokens"] == usage["prompt_tokens"]
    assert receipt["output_tokens"] == usage["completion_tokens"]
    # exact: 10 $/Mtok in, 30 $/Mtok out
    on_disk = read_receipts(swarm, "walk")[-1]
    expected = (Decimal(usage["prompt_tokens"]) * 10 + Decimal(usage["completion_tokens"]) * 30) / 1_000_000
    assert on_disk["cost_usd"] == expected.quantize(Decimal("0.000001"))
    # the caller's id is kept beside the receipt's own (unique whatever callers send)
    assert on_disk["client_request_id"] == "req-walk-1" and on_disk["agent"] == "my-agent"
    assert on_disk["request_id"] == out["request_id"] == resp.headers["x-tollway-request-id"] != "req-walk-1"
    assert '"cost_usd":' in (swarm.costs / "walk.jsonl").read_text()


def test_openai_sdk_plain_and_streaming(swarm, providers):
    client = openai.OpenAI(base_url=swarm.url("gateway") + "/v1", api_key="unused",
                           default_headers={"X-Tollway-Run": "sdk-run", "X-Tollway-Agent": "sdk"})
    models = [m.id for m in client.models.list()]
    assert "gpt-4" in models
    reply = client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "hi there"}],
                                           max_tokens=8)
    assert reply.choices[0].message.content
    chunks = list(client.chat.completions.create(model="gpt-4", stream=True, max_tokens=6,
                                                 messages=[{"role": "user", "content": "stream please"}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert all(c.usage is None for c in chunks), "usage chunk leaked to a client that did not ask for it"
    receipts = read_receipts(swarm, "sdk-run")
    assert len(receipts) == 2
    streamed = receipts[-1]
    assert streamed["stream"] is True and streamed["usage_estimated"] is False
    assert streamed["output_tokens"] == 6 and streamed["cost_usd"] > 0
    assert all(r["agent"] == "sdk" for r in receipts)


def test_streaming_client_that_asked_for_usage_gets_it(swarm, providers):
    client = openai.OpenAI(base_url=swarm.url("gateway") + "/v1", api_key="unused")
    chunks = list(client.chat.completions.create(model="gpt-4", stream=True, max_tokens=4,
                                                 stream_options={"include_usage": True},
                                                 messages=[{"role": "user", "content": "count"}]))
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4


def test_fallback_when_the_cheapest_provider_is_down(swarm, http, providers):
    from tests.e2e.swarm import free_port

    register(http, swarm, {"name": "down-cheapest", "model": "fb-model", "context_window": 8192,
                           "input_per_mtok": "0.01", "output_per_mtok": "0.01",
                           "endpoint": f"http://127.0.0.1:{free_port()}"})
    register(http, swarm, {"name": "failing-500", "model": "fb-model", "context_window": 8192,
                           "input_per_mtok": "0.02", "output_per_mtok": "0.02",
                           "endpoint": providers + "/sim/error_rate=1,status=503"})
    register(http, swarm, {"name": "healthy", "model": "fb-model", "context_window": 8192,
                           "input_per_mtok": "5", "output_per_mtok": "5", "endpoint": providers})
    swarm.wait_for_model("fb-model")
    client = openai.OpenAI(base_url=swarm.url("gateway") + "/v1", api_key="unused",
                           default_headers={"X-Tollway-Run": "fallback-run"})
    for _ in range(3):
        reply = client.chat.completions.create(model="fb-model", max_tokens=5,
                                               messages=[{"role": "user", "content": "still there?"}])
        assert reply.choices[0].message.content
    receipts = read_receipts(swarm, "fallback-run")
    assert len(receipts) == 3
    for r in receipts:
        assert r["provider"] == "healthy" and r["fallback"] is True and r["status"] == "success"
        assert r["attempts"][-1]["provider"] == "healthy" and r["attempts"][-1]["status"] == "success"
    # each failing provider is retried once, then the next is tried, cheapest first
    first = receipts[0]["attempts"]
    assert [a["provider"] for a in first] == ["down-cheapest"] * 2 + ["failing-500"] * 2 + ["healthy"]
    assert [a["http_status"] for a in first[2:4]] == [503, 503]


def test_receipts_add_up_with_jq_and_in_the_ledger(swarm, http, providers):
    client = openai.OpenAI(base_url=swarm.url("gateway") + "/v1", api_key="unused",
                           default_headers={"X-Tollway-Run": "totals"})
    for i in range(20):
        client.chat.completions.create(model="gpt-4", max_tokens=1 + i % 7,
                                       messages=[{"role": "user", "content": "x " * (i + 1)}])
    path = swarm.costs / "totals.jsonl"
    receipts = read_receipts(swarm, "totals")
    file_total = sum((r["cost_usd"] for r in receipts), Decimal(0))
    if shutil.which("jq"):
        out = subprocess.run(["jq", "-s", "map(.cost_usd) | add", str(path)], capture_output=True, text=True)
        assert out.returncode == 0 and abs(Decimal(out.stdout.strip()) - file_total) < Decimal("0.000001")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ledger = json.loads(http.get(swarm.url("ledger") + "/receipts/totals").text, parse_float=Decimal)
        if ledger["count"] == 20:
            break
        time.sleep(0.1)
    assert ledger["count"] == 20
    assert ledger["total_cost_usd"] == file_total
