"""A client that leaves a stream, on real processes: the gateway notices at once, closes the
upstream request (the simulator sees its client go) and writes a receipt that bills what was
generated; the budget gets exactly that receipt's cost. Through both client surfaces (OpenAI chat
completions and Anthropic messages), mid-stream and before the first byte."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx
import pytest

from tests.e2e.conftest import register, wait_until
from tests.e2e.swarm import Swarm

MESSAGES = [{"role": "user", "content": "tell me a long story"}]
SLOW = "tps=20,tokens=200"  # ten seconds of tokens: the client leaves long before the end
LATE = "latency_ms=1500,tps=20,tokens=200"  # the answer's headers come after 1.5 s


@pytest.fixture(scope="module")
def models(swarm: Swarm, http: httpx.Client) -> dict[str, str]:
    out = {}
    for name, spec in (("slow", SLOW), ("late", LATE)):
        register(http, swarm, {"name": f"sim-{name}", "model": f"m-{name}", "context_window": 8192,
                               "input_per_mtok": "1", "output_per_mtok": "4",
                               "endpoint": swarm.url("simulator") + f"/sim/{spec}"})
        swarm.wait_for_model(f"m-{name}")
        out[name] = f"m-{name}"
    return out


def abandoned(http: httpx.Client, swarm: Swarm) -> int:
    return http.get(swarm.url("simulator") + "/requests").json()["abandoned_streams"]


def wait_receipt(swarm: Swarm, run: str, timeout: float = 5.0) -> dict:
    path = swarm.costs / f"{run}.jsonl"
    wait_until(lambda: path.exists() and bool(path.read_text().strip()), timeout, what=f"a receipt for {run}")
    return json.loads(path.read_text().splitlines()[-1], parse_float=Decimal)


def request(surface: str, model: str) -> tuple[str, dict]:
    body = {"model": model, "messages": MESSAGES, "stream": True, "max_tokens": 200}
    return ("/v1/chat/completions" if surface == "openai" else "/v1/messages"), body


def is_text(line: str, surface: str) -> bool:
    return ('"content":"' in line and '"content":""' not in line) if surface == "openai" else \
        '"text_delta"' in line


@pytest.mark.parametrize("surface", ["openai", "anthropic"])
def test_a_client_leaving_mid_stream_is_billed_for_what_was_generated(swarm, http, models, surface):
    run = f"leave-mid-{surface}"
    http.post(swarm.url("ledger") + "/budget", json={"run_id": run, "budget_usd": "5"})
    swarm.wait_for_budget(run)
    before = abandoned(http, swarm)
    path, body = request(surface, models["slow"])
    texts = 0
    started = time.monotonic()
    with httpx.stream("POST", swarm.url("gateway") + path, json=body, headers={"x-tollway-run": run},
                      timeout=30) as resp:
        assert resp.status_code == 200
        for line in resp.iter_lines():
            texts += is_text(line, surface)
            if texts == 5:
                break  # leaving: the connection closes with the context
    receipt = wait_receipt(swarm, run)
    assert time.monotonic() - started < 6, "the receipt waited for the stream's natural end"
    assert receipt["status"] == "error" and receipt["error"]["type"] == "client_disconnected"
    assert receipt["stream"] is True and receipt["usage_estimated"] is True
    assert 5 <= receipt["output_tokens"] < 200  # what was generated, not the whole answer, not nothing
    assert receipt["input_tokens"] > 0
    expected = (Decimal(receipt["input_tokens"]) * Decimal("0.000001")
                + Decimal(receipt["output_tokens"]) * Decimal("0.000004"))
    assert receipt["cost_usd"] == expected.quantize(Decimal("0.000001")) and receipt["cost_usd"] > 0
    wait_until(lambda: abandoned(http, swarm) == before + 1, what="the upstream stream closed")

    def settled() -> bool:
        status = json.loads(http.get(swarm.url("ledger") + f"/budget/{run}").text, parse_float=Decimal)
        return status["spent_usd"] == receipt["cost_usd"]
    wait_until(settled, 10, what="the ledger charging the abandoned stream's receipt")


@pytest.mark.parametrize("surface", ["openai", "anthropic"])
def test_a_client_leaving_before_the_first_byte_still_gets_a_receipt(swarm, http, models, surface):
    run = f"leave-early-{surface}"
    before = abandoned(http, swarm)
    path, body = request(surface, models["late"])
    with pytest.raises(httpx.ReadTimeout):  # gone while the gateway waits for the provider's headers
        httpx.post(swarm.url("gateway") + path, json=body, headers={"x-tollway-run": run}, timeout=0.5)
    receipt = wait_receipt(swarm, run)
    assert receipt["error"]["type"] == "client_disconnected" and receipt["status"] == "error"
    assert receipt["output_tokens"] < 200 and receipt["input_tokens"] > 0
    wait_until(lambda: abandoned(http, swarm) == before + 1, what="the upstream stream closed")
