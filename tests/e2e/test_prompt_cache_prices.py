"""Prompt-cache prices on real processes: providers registered at the router with cache read and
write prices (per Mtok and per token) serve through the gateway; each receipt charges the
upstream's cache reads and writes at those prices, to the exact Decimal, plain and streamed; the
ledger books the same figures; a budget's hold covers input billed at the dearer write price.

The simulator reports no cache tokens, so a tiny Anthropic upstream that does
(tests/e2e/anthropic_cache_upstream.py) runs as its own process; an Anthropic-format simulator
provider with cache prices shows that, without cache tokens, its cost is the plain price."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from services.common.selection.estimate import max_input_tokens
from tests.e2e.conftest import register
from tests.e2e.swarm import free_port
from tests.e2e.test_provider_formats import client, receipts

MTOK = Decimal(1_000_000)
MICRO = Decimal("0.000001")
MESSAGES = [{"role": "user", "content": "what did we agree on yesterday?"}]
# one request of a long cached conversation: 100,000 plain input tokens, 800,000 read from the cache,
# 100,000 written to it, 7 out
COUNTS = "i=100000,r=800000,w=100000,o=7"
# hand-computed: 100,000 x $3 + 800,000 x $0.30 + 100,000 x $3.75 per Mtok in; 7 x $15 per Mtok out
INPUT_COST = Decimal("0.300000") + Decimal("0.240000") + Decimal("0.375000")
OUTPUT_COST = Decimal("0.000105")


@pytest.fixture(scope="module")
def upstream(swarm):
    port = free_port()
    with open(swarm.root / "cache-upstream.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "tests.e2e.anthropic_cache_upstream", str(port)],
                                cwd=Path(__file__).resolve().parents[2], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise
        time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def providers(swarm, http, upstream):
    common = {"context_window": 2_000_000, "api_format": "anthropic"}
    register(http, swarm, {**common, "name": "claude-cached", "model": "claude-cache-e2e",
                           "endpoint": f"{upstream}/{COUNTS}", "input_per_mtok": "3", "output_per_mtok": "15",
                           "cache_read_per_mtok": "0.30", "cache_write_per_mtok": "3.75"})
    register(http, swarm, {**common, "name": "claude-cached-per-token", "model": "claude-cache-e2e-tok",
                           "endpoint": f"{upstream}/{COUNTS}", "cost_per_input_token": "0.000003",
                           "cost_per_output_token": 0.000015, "cost_per_cache_read_input_token": "0.0000003",
                           "cost_per_cache_creation_input_token": 0.00000375})
    # realistic counts for a budgeted request: fewer input tokens than the prompt's bytes
    register(http, swarm, {**common, "name": "claude-cached-budget", "model": "claude-cache-e2e-budget",
                           "endpoint": f"{upstream}/i=4,r=10,w=6,o=5", "input_per_mtok": "3",
                           "output_per_mtok": "15", "cache_read_per_mtok": "0.30", "cache_write_per_mtok": "3.75"})
    register(http, swarm, {**common, "name": "claude-sim-cached", "model": "claude-cache-e2e-sim",
                           "endpoint": swarm.url("simulator") + "/sim/tps=0", "input_per_mtok": "3",
                           "output_per_mtok": "15", "cache_read_per_mtok": "0.30", "cache_write_per_mtok": "3.75"})
    for model in ("claude-cache-e2e", "claude-cache-e2e-tok", "claude-cache-e2e-budget", "claude-cache-e2e-sim"):
        swarm.wait_for_model(model)


def ledger_receipts(swarm, http, run_id, count):
    deadline = time.monotonic() + 10
    while True:
        book = json.loads(http.get(swarm.url("ledger") + f"/receipts/{run_id}").text, parse_float=Decimal)
        if book["count"] == count or time.monotonic() > deadline:
            return book
        time.sleep(0.1)


def assert_cached_receipt(receipt, provider):
    assert receipt["provider"] == provider and receipt["status"] == "success"
    assert (receipt["input_tokens"], receipt["cache_read_input_tokens"], receipt["cache_creation_input_tokens"],
            receipt["output_tokens"]) == (1_000_000, 800_000, 100_000, 7)
    assert receipt["input_cost_usd"] == INPUT_COST == Decimal("0.915000")
    assert receipt["output_cost_usd"] == OUTPUT_COST
    assert receipt["cost_usd"] == Decimal("0.915105")
    assert receipt["prices"] == {"input_per_mtok": 3, "output_per_mtok": 15,
                                 "cache_read_per_mtok": Decimal("0.3"), "cache_write_per_mtok": Decimal("3.75")}


@pytest.mark.parametrize(("model", "provider"), [("claude-cache-e2e", "claude-cached"),
                                                 ("claude-cache-e2e-tok", "claude-cached-per-token")])
def test_cache_reads_and_writes_are_charged_at_their_prices(swarm, http, providers, model, provider):
    run_id = f"prompt-cache-{provider}"
    reply = client(swarm, run_id).chat.completions.create(model=model, messages=MESSAGES, max_tokens=7)
    assert reply.usage.prompt_tokens == 1_000_000
    assert reply.usage.prompt_tokens_details.cached_tokens == 800_000
    [receipt] = receipts(swarm, run_id)
    assert_cached_receipt(receipt, provider)
    book = ledger_receipts(swarm, http, run_id, 1)
    assert book["count"] == 1 and book["total_cost_usd"] == Decimal("0.915105")
    assert_cached_receipt(book["receipts"][0], provider)


def test_a_stream_is_charged_the_same(swarm, providers):
    run_id = "prompt-cache-stream"
    chunks = list(client(swarm, run_id).chat.completions.create(
        model="claude-cache-e2e", messages=MESSAGES, max_tokens=7, stream=True,
        stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "cached " * 7
    [receipt] = receipts(swarm, run_id)
    assert receipt["stream"] is True
    assert_cached_receipt(receipt, "claude-cached")


def test_without_cache_tokens_the_cache_prices_change_nothing(swarm, providers):
    run_id = "prompt-cache-sim"
    reply = client(swarm, run_id).chat.completions.create(model="claude-cache-e2e-sim", messages=MESSAGES,
                                                          max_tokens=6)
    [receipt] = receipts(swarm, run_id)
    tokens_in, tokens_out = reply.usage.prompt_tokens, reply.usage.completion_tokens
    assert tokens_in > 0 and tokens_out == 6
    assert "cache_read_input_tokens" not in receipt and "cache_creation_input_tokens" not in receipt
    assert receipt["input_cost_usd"] == (tokens_in * Decimal(3) / MTOK).quantize(MICRO)
    assert receipt["cost_usd"] == receipt["input_cost_usd"] + Decimal("0.000090")  # 6 x $15 per Mtok
    assert receipt["prices"]["cache_write_per_mtok"] == Decimal("3.75")


def test_a_budget_hold_prices_every_input_token_as_a_cache_write(swarm, http, providers):
    run_id = "prompt-cache-budget"
    resp = http.post(swarm.url("ledger") + "/budget", json={"run_id": run_id, "budget_usd": "1"})
    assert resp.status_code in (200, 201), resp.text
    swarm.wait_for_budget(run_id)
    client(swarm, run_id).chat.completions.create(model="claude-cache-e2e-budget", messages=MESSAGES, max_tokens=5)
    [receipt] = receipts(swarm, run_id)
    # 4 x $3 + 10 x $0.30 + 6 x $3.75 per Mtok in = 0.0000375 -> 0.000038 (half-even); 5 x $15 out = 0.000075
    assert receipt["input_cost_usd"] == Decimal("0.000038") and receipt["cost_usd"] == Decimal("0.000113")
    bound = max_input_tokens({"messages": MESSAGES, "max_tokens": 5})
    hold = ((bound * Decimal("3.75") + 5 * Decimal("15")) / MTOK).quantize(MICRO, rounding="ROUND_CEILING")
    assert receipt["hold_usd"] == hold
    assert hold > ((bound * Decimal("3") + 5 * Decimal("15")) / MTOK).quantize(MICRO, rounding="ROUND_CEILING")
    deadline = time.monotonic() + 10
    while True:
        status = json.loads(http.get(swarm.url("ledger") + f"/budget/{run_id}").text, parse_float=Decimal)
        if status["spent_usd"] > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status["spent_usd"] == Decimal("0.000113")
