"""Prompt-cache prices on real processes: providers registered at the router with cache read and
write prices (per Mtok and per token, 1-hour writes included) serve through the gateway; each
receipt charges the upstream's cache reads and writes at those prices, to the exact Decimal, plain
and streamed; the ledger books the same figures; a budget's hold covers input billed at the
dearest write price.

The upstream is the simulator with `cache_read`, `cache_write` and `cache_write_1h` in its spec, so
each provider format reports the cache as its real provider does: Anthropic's `input_tokens`
without the cached tokens and its writes split into 5-minute and 1-hour ones (`cache_creation`),
OpenAI's (and Azure's) `cached_tokens` and `cache_write_tokens` inside the prompt count, Gemini's
`cachedContentTokenCount` inside it and no writes (the tokens written are plain input there). A
simulator provider with cache prices and no cache tokens costs the plain price."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from services.common.selection.estimate import max_input_tokens
from services.simulator.tokens import reply_pieces
from tests.e2e.conftest import register
from tests.e2e.test_provider_formats import client, receipts

MTOK = Decimal(1_000_000)
MICRO = Decimal("0.000001")
QUESTION = "what did we agree on yesterday?"
MESSAGES = [{"role": "user", "content": QUESTION}]
PROMPT = 4 + 6  # the simulator's count for MESSAGES: 4 per message + its words
# one request of a long cached conversation: 800,000 prompt tokens read from the cache, 100,000
# written to it, then the 10 of the message; 7 out
CACHED = "/sim/tps=0,cache_read=800000,cache_write=100000"
# the same, 40,000 of the 100,000 written for an hour
CACHED_1H = "/sim/tps=0,cache_read=800000,cache_write=60000,cache_write_1h=40000"
INPUT_TOKENS = 800_000 + 100_000 + PROMPT
ANTHROPIC_PRICES = {"input_per_mtok": 3, "output_per_mtok": 15, "cache_read_per_mtok": Decimal("0.3"),
                    "cache_write_per_mtok": Decimal("3.75")}
GPT_WRITE_PRICES = {"input_per_mtok": Decimal("2.5"), "output_per_mtok": 10, "cache_read_per_mtok": Decimal("1.25"),
                    "cache_write_per_mtok": Decimal("3.125")}
# provider -> (model, api_format, tokens written and of them written for an hour as the receipt counts
# them, input cost, output cost, the prices the receipt records), every cost hand-computed
CASES = {
    # 10 x $3 + 800,000 x $0.30 + 100,000 x $3.75 per Mtok in; 7 x $15 per Mtok out
    "claude-cached": ("claude-cache-e2e", "anthropic", (100_000, 0), Decimal("0.615030"), Decimal("0.000105"),
                      ANTHROPIC_PRICES),
    "claude-cached-per-token": ("claude-cache-e2e-tok", "anthropic", (100_000, 0), Decimal("0.615030"),
                                Decimal("0.000105"), ANTHROPIC_PRICES),
    # no write price: (100,000 + 10) x $2.50 + 800,000 x $1.25 per Mtok in; 7 x $10 out
    "gpt-cached": ("gpt-cache-e2e", "openai", (100_000, 0), Decimal("1.250025"), Decimal("0.000070"),
                   {"input_per_mtok": Decimal("2.5"), "output_per_mtok": 10, "cache_read_per_mtok": Decimal("1.25")}),
    # OpenAI's cache_write_tokens at 1.25x: 10 x $2.50 + 800,000 x $1.25 + 100,000 x $3.125 per Mtok
    # = 0.000025 + 1 + 0.3125; 7 x $10 out
    "gpt-cached-writes": ("gpt-cache-e2e-writes", "openai", (100_000, 0), Decimal("1.312525"), Decimal("0.000070"),
                          GPT_WRITE_PRICES),
    "azure-cached-writes": ("azure-cache-e2e-writes", "azure", (100_000, 0), Decimal("1.312525"),
                            Decimal("0.000070"), GPT_WRITE_PRICES),
    # Gemini reports no writes: (100,000 + 10) x $1.25 + 800,000 x $0.125 = 0.2250125 -> 0.225012 (half-even);
    # 7 x $10 out
    "gemini-cached": ("gemini-cache-e2e", "gemini", (0, 0), Decimal("0.225012"), Decimal("0.000070"),
                      {"input_per_mtok": Decimal("1.25"), "output_per_mtok": 10,
                       "cache_read_per_mtok": Decimal("0.125")}),
}
ANTHROPIC_1H_PRICES = {**ANTHROPIC_PRICES, "cache_write_1h_per_mtok": 6}
CASES_1H = {
    # 10 x $3 + 800,000 x $0.30 + 60,000 x $3.75 + 40,000 x $6 per Mtok = 0.00003 + 0.24 + 0.225 + 0.24
    "claude-cached-1h": ("claude-cache-e2e-1h", "anthropic", (100_000, 40_000), Decimal("0.705030"),
                         Decimal("0.000105"), ANTHROPIC_1H_PRICES),
    "claude-cached-1h-per-token": ("claude-cache-e2e-1h-tok", "anthropic", (100_000, 40_000), Decimal("0.705030"),
                                   Decimal("0.000105"), ANTHROPIC_1H_PRICES),
}


@pytest.fixture(scope="module")
def providers(swarm, http):
    sim = swarm.url("simulator")
    common = {"context_window": 2_000_000}
    anthropic_prices = {"input_per_mtok": "3", "output_per_mtok": "15", "cache_read_per_mtok": "0.30",
                        "cache_write_per_mtok": "3.75"}
    register(http, swarm, {**common, "name": "claude-cached", "model": "claude-cache-e2e", "api_format": "anthropic",
                           "endpoint": sim + CACHED, **anthropic_prices})
    register(http, swarm, {**common, "name": "claude-cached-per-token", "model": "claude-cache-e2e-tok",
                           "api_format": "anthropic", "endpoint": sim + CACHED, "cost_per_input_token": "0.000003",
                           "cost_per_output_token": 0.000015, "cost_per_cache_read_input_token": "0.0000003",
                           "cost_per_cache_creation_input_token": 0.00000375})
    register(http, swarm, {**common, "name": "gpt-cached", "model": "gpt-cache-e2e", "api_format": "openai",
                           "endpoint": sim + CACHED, "input_per_mtok": "2.50", "output_per_mtok": "10",
                           "cache_read_per_mtok": "1.25"})
    gpt_write_prices = {"input_per_mtok": "2.50", "output_per_mtok": "10", "cache_read_per_mtok": "1.25",
                        "cache_write_per_mtok": "3.125"}
    register(http, swarm, {**common, "name": "gpt-cached-writes", "model": "gpt-cache-e2e-writes",
                           "api_format": "openai", "endpoint": sim + CACHED, **gpt_write_prices})
    register(http, swarm, {**common, "name": "azure-cached-writes", "model": "azure-cache-e2e-writes",
                           "api_format": "azure", "endpoint": sim + CACHED, **gpt_write_prices})
    register(http, swarm, {**common, "name": "claude-cached-1h", "model": "claude-cache-e2e-1h",
                           "api_format": "anthropic", "endpoint": sim + CACHED_1H, **anthropic_prices,
                           "cache_write_1h_per_mtok": "6"})
    register(http, swarm, {**common, "name": "claude-cached-1h-per-token", "model": "claude-cache-e2e-1h-tok",
                           "api_format": "anthropic", "endpoint": sim + CACHED_1H, "cost_per_input_token": 0.000003,
                           "cost_per_output_token": "0.000015", "cost_per_cache_read_input_token": 0.0000003,
                           "cost_per_cache_creation_input_token": "0.00000375",
                           "cost_per_cache_creation_1h_input_token": "0.000006"})
    register(http, swarm, {**common, "name": "claude-cached-1h-budget", "model": "claude-cache-e2e-1h-budget",
                           "api_format": "anthropic", "endpoint": sim + "/sim/tps=0,cache_read=5,cache_write=4,"
                           "cache_write_1h=3", **anthropic_prices, "cache_write_1h_per_mtok": "6"})
    register(http, swarm, {**common, "name": "gemini-cached", "model": "gemini-cache-e2e", "api_format": "gemini",
                           "endpoint": sim + CACHED, "input_per_mtok": "1.25", "output_per_mtok": "10",
                           "cache_read_per_mtok": "0.125"})
    # realistic counts for a budgeted request: fewer input tokens than the prompt's bytes
    register(http, swarm, {**common, "name": "claude-cached-budget", "model": "claude-cache-e2e-budget",
                           "api_format": "anthropic", "endpoint": sim + "/sim/tps=0,cache_read=5,cache_write=4",
                           **anthropic_prices})
    register(http, swarm, {**common, "name": "claude-sim-cached", "model": "claude-cache-e2e-sim",
                           "api_format": "anthropic", "endpoint": sim + "/sim/tps=0", **anthropic_prices})
    for model in [case[0] for case in (*CASES.values(), *CASES_1H.values())] + [
            "claude-cache-e2e-budget", "claude-cache-e2e-sim", "claude-cache-e2e-1h-budget"]:
        swarm.wait_for_model(model)


def ledger_receipts(swarm, http, run_id, count):
    deadline = time.monotonic() + 10
    while True:
        book = json.loads(http.get(swarm.url("ledger") + f"/receipts/{run_id}").text, parse_float=Decimal)
        if book["count"] == count or time.monotonic() > deadline:
            return book
        time.sleep(0.1)


def assert_cached_receipt(receipt, provider):
    _, _, (written, written_1h), input_cost, output_cost, prices = {**CASES, **CASES_1H}[provider]
    assert receipt["provider"] == provider and receipt["status"] == "success"
    assert (receipt["input_tokens"], receipt["cache_read_input_tokens"], receipt.get("cache_creation_input_tokens", 0),
            receipt.get("cache_creation_1h_input_tokens", 0), receipt["output_tokens"]) \
        == (INPUT_TOKENS, 800_000, written, written_1h, 7)
    assert receipt["input_cost_usd"] == input_cost
    assert receipt["output_cost_usd"] == output_cost
    assert receipt["cost_usd"] == input_cost + output_cost
    assert receipt["prices"] == prices


def model_of(provider):
    return {**CASES, **CASES_1H}[provider][0]


@pytest.mark.parametrize("provider", [*CASES, *CASES_1H])
def test_cache_reads_and_writes_are_charged_at_their_prices(swarm, http, providers, provider):
    run_id = f"prompt-cache-{provider}"
    reply = client(swarm, run_id).chat.completions.create(model=model_of(provider), messages=MESSAGES, max_tokens=7)
    assert reply.usage.prompt_tokens == INPUT_TOKENS
    assert reply.usage.prompt_tokens_details.cached_tokens == 800_000
    # the writes, whatever the provider's format, as OpenAI reports them (Gemini reports none)
    assert (reply.usage.prompt_tokens_details.cache_write_tokens or 0) == {**CASES, **CASES_1H}[provider][2][0]
    [receipt] = receipts(swarm, run_id)
    assert_cached_receipt(receipt, provider)
    book = ledger_receipts(swarm, http, run_id, 1)
    assert book["count"] == 1 and book["total_cost_usd"] == receipt["cost_usd"]
    assert_cached_receipt(book["receipts"][0], provider)


@pytest.mark.parametrize("provider", ["claude-cached", "gpt-cached", "gpt-cached-writes", "azure-cached-writes",
                                      "gemini-cached", "claude-cached-1h"])
def test_a_stream_is_charged_the_same(swarm, providers, provider):
    run_id = f"prompt-cache-stream-{provider}"
    chunks = list(client(swarm, run_id).chat.completions.create(
        model=model_of(provider), messages=MESSAGES, max_tokens=7, stream=True,
        stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(reply_pieces(QUESTION, 7))
    assert chunks[-1].usage.prompt_tokens == INPUT_TOKENS
    [receipt] = receipts(swarm, run_id)
    assert receipt["stream"] is True
    assert_cached_receipt(receipt, provider)


def test_without_cache_tokens_the_cache_prices_change_nothing(swarm, providers):
    run_id = "prompt-cache-sim"
    reply = client(swarm, run_id).chat.completions.create(model="claude-cache-e2e-sim", messages=MESSAGES,
                                                          max_tokens=6)
    [receipt] = receipts(swarm, run_id)
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (PROMPT, 6)
    assert "cache_read_input_tokens" not in receipt and "cache_creation_input_tokens" not in receipt
    assert receipt["input_cost_usd"] == Decimal("0.000030")  # 10 x $3 per Mtok
    assert receipt["cost_usd"] == Decimal("0.000120")  # + 6 x $15 per Mtok
    assert receipt["prices"]["cache_write_per_mtok"] == Decimal("3.75")


def test_a_budget_hold_prices_every_input_token_as_a_cache_write(swarm, http, providers):
    run_id = "prompt-cache-budget"
    receipt = budgeted_receipt(swarm, http, run_id, "claude-cache-e2e-budget")
    assert (receipt["input_tokens"], receipt["cache_read_input_tokens"], receipt["cache_creation_input_tokens"]) \
        == (5 + 4 + PROMPT, 5, 4)
    # 10 x $3 + 5 x $0.30 + 4 x $3.75 per Mtok in = 0.0000465 -> 0.000046 (half-even); 5 x $15 out = 0.000075
    assert receipt["input_cost_usd"] == Decimal("0.000046") and receipt["cost_usd"] == Decimal("0.000121")
    assert receipt["hold_usd"] == hold_at("3.75", bigger_than=receipt["input_tokens"])
    assert receipt["hold_usd"] > hold_at("3")
    assert spent(swarm, http, run_id) == Decimal("0.000121")


def budgeted_receipt(swarm, http, run_id, model):
    """The receipt of one 5-token-out request of a run with a $1 budget."""
    resp = http.post(swarm.url("ledger") + "/budget", json={"run_id": run_id, "budget_usd": "1"})
    assert resp.status_code in (200, 201), resp.text
    swarm.wait_for_budget(run_id)
    client(swarm, run_id).chat.completions.create(model=model, messages=MESSAGES, max_tokens=5)
    [receipt] = receipts(swarm, run_id)
    return receipt


def hold_at(input_per_mtok, bigger_than=0):
    """A 5-token-out request's worst case with every input token of its bound at `input_per_mtok`."""
    bound = max_input_tokens({"messages": MESSAGES, "max_tokens": 5})
    assert bound > bigger_than
    return ((bound * Decimal(input_per_mtok) + 5 * Decimal("15")) / MTOK).quantize(MICRO, rounding="ROUND_CEILING")


def spent(swarm, http, run_id):
    """The run's spend at the ledger, once its receipt has arrived (or after 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        status = json.loads(http.get(swarm.url("ledger") + f"/budget/{run_id}").text, parse_float=Decimal)
        if status["spent_usd"] > 0 or time.monotonic() > deadline:
            return status["spent_usd"]
        time.sleep(0.1)


def test_a_budget_hold_prices_every_input_token_as_a_one_hour_write(swarm, http, providers):
    run_id = "prompt-cache-budget-1h"
    receipt = budgeted_receipt(swarm, http, run_id, "claude-cache-e2e-1h-budget")  # 5 read, 4 + 3 written
    assert (receipt["input_tokens"], receipt["cache_read_input_tokens"], receipt["cache_creation_input_tokens"]) \
        == (5 + 4 + 3 + PROMPT, 5, 4 + 3)
    assert receipt["hold_usd"] == hold_at("6", bigger_than=receipt["input_tokens"])
    assert receipt["hold_usd"] > hold_at("3.75")
    assert spent(swarm, http, run_id) == receipt["cost_usd"] <= receipt["hold_usd"]


def test_a_budgeted_one_hour_write_is_charged_its_price(swarm, http, providers):
    receipt = budgeted_receipt(swarm, http, "prompt-cache-budget-1h-cost", "claude-cache-e2e-1h-budget")
    assert receipt.get("cache_creation_1h_input_tokens") == 3
    # 10 x $3 + 5 x $0.30 + 4 x $3.75 + 3 x $6 per Mtok in = 0.0000645 -> 0.000064 (half-even); 5 x $15 out
    assert receipt["input_cost_usd"] == Decimal("0.000064") and receipt["cost_usd"] == Decimal("0.000139")
