"""Anthropic- and Gemini-format providers behind the gateway, on real processes: an OpenAI client
gets OpenAI-shaped answers, plain and streamed, and each receipt has the simulator's exact
tokens and the exact Decimal cost."""

import json
from decimal import Decimal

import httpx
import openai
import pytest

from tests.e2e.conftest import register

# api_format -> (provider name, model, $ per Mtok in, $ per Mtok out)
PROVIDERS = {
    "anthropic": ("claude-on-sim", "claude-e2e", Decimal("3"), Decimal("15")),
    "gemini": ("gemini-on-sim", "gemini-e2e", Decimal("0.5"), Decimal("2.5")),
}
MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello world"}]
PROMPT_TOKENS = (4 + 2) + (4 + 2)  # the simulator's count: 4 per message + its words
MICRO = Decimal("0.000001")


@pytest.fixture(scope="module")
def providers(swarm, http):
    for api_format, (name, model, price_in, price_out) in PROVIDERS.items():
        register(http, swarm, {"name": name, "model": model, "context_window": 100_000, "api_format": api_format,
                               "input_per_mtok": str(price_in), "output_per_mtok": str(price_out),
                               "endpoint": swarm.url("simulator") + "/sim/tps=0"})
        swarm.wait_for_model(model)
    register(http, swarm, {"name": "claude-cut", "model": "claude-cut", "context_window": 100_000,
                           "api_format": "anthropic", "input_per_mtok": "3", "output_per_mtok": "15",
                           "endpoint": swarm.url("simulator") + "/sim/tps=0,drop=1,tokens=8"})
    swarm.wait_for_model("claude-cut")


def client(swarm, run_id):
    return openai.OpenAI(base_url=swarm.url("gateway") + "/v1", api_key="unused", max_retries=0,
                         default_headers={"X-Tollway-Run": run_id})


def receipts(swarm, run_id):
    path = swarm.costs / f"{run_id}.jsonl"
    return [json.loads(line, parse_float=Decimal) for line in path.read_text().splitlines()]


def expected_cost(api_format, input_tokens, output_tokens):
    _, _, price_in, price_out = PROVIDERS[api_format]
    return ((input_tokens * price_in / 1_000_000).quantize(MICRO)
            + (output_tokens * price_out / 1_000_000).quantize(MICRO))


def assert_receipt(receipt, api_format, *, output_tokens, stream):
    assert receipt["provider"] == PROVIDERS[api_format][0] and receipt["status"] == "success"
    assert receipt["stream"] is stream and receipt["usage_estimated"] is False
    assert (receipt["input_tokens"], receipt["output_tokens"]) == (PROMPT_TOKENS, output_tokens)
    assert isinstance(receipt["cost_usd"], Decimal)
    assert receipt["cost_usd"] == expected_cost(api_format, PROMPT_TOKENS, output_tokens) > 0


@pytest.mark.parametrize("api_format", PROVIDERS)
def test_plain_chat_completion_is_openai_shaped_with_an_exact_receipt(swarm, providers, api_format):
    run_id = f"formats-plain-{api_format}"
    reply = client(swarm, run_id).chat.completions.create(model=PROVIDERS[api_format][1], messages=MESSAGES,
                                                          max_tokens=6)
    assert reply.object == "chat.completion"
    choice = reply.choices[0]
    assert choice.message.role == "assistant" and len(choice.message.content.split()) == 6
    assert choice.finish_reason == "length"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (PROMPT_TOKENS, 6)
    [receipt] = receipts(swarm, run_id)
    assert_receipt(receipt, api_format, output_tokens=6, stream=False)


def test_the_costs_are_the_exact_microdollars():
    assert expected_cost("anthropic", PROMPT_TOKENS, 6) == Decimal("0.000126")  # 12 x $3 + 6 x $15 per Mtok
    assert expected_cost("gemini", PROMPT_TOKENS, 6) == Decimal("0.000021")  # 12 x $0.5 + 6 x $2.5 per Mtok


@pytest.mark.parametrize("api_format", PROVIDERS)
def test_streamed_chat_completion_is_openai_chunks_with_an_exact_receipt(swarm, providers, api_format):
    run_id = f"formats-stream-{api_format}"
    chunks = list(client(swarm, run_id).chat.completions.create(model=PROVIDERS[api_format][1], messages=MESSAGES,
                                                                max_tokens=4, stream=True))
    assert chunks and all(c.object == "chat.completion.chunk" for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text.split()) == 4
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["length"]
    assert all(c.usage is None for c in chunks), "usage chunk leaked to a client that did not ask for it"
    [receipt] = receipts(swarm, run_id)
    assert_receipt(receipt, api_format, output_tokens=4, stream=True)


@pytest.mark.parametrize("api_format", PROVIDERS)
def test_a_client_that_asks_for_usage_gets_the_upstreams_counts(swarm, providers, api_format):
    chunks = list(client(swarm, f"formats-usage-{api_format}").chat.completions.create(
        model=PROVIDERS[api_format][1], messages=MESSAGES, max_tokens=3, stream=True,
        stream_options={"include_usage": True}))
    assert chunks[-1].choices == []
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (PROMPT_TOKENS, 3)


def test_an_anthropic_stream_cut_before_message_stop_is_an_error_not_a_clean_end(swarm, providers):
    body = {"model": "claude-cut", "messages": MESSAGES, "stream": True}
    with httpx.stream("POST", swarm.url("gateway") + "/v1/chat/completions", json=body, timeout=30,
                      headers={"X-Tollway-Run": "formats-cut"}) as resp:
        assert resp.status_code == 200
        text = resp.read().decode()
    assert '"content":' in text  # some of the answer came through before the cut
    assert "[DONE]" not in text and "upstream_truncated" in text
    [receipt] = receipts(swarm, "formats-cut")
    assert receipt["status"] == "error" and receipt["error"]["type"] == "truncated"
    assert receipt["provider"] == "claude-cut" and receipt["usage_estimated"] is True
