"""The gateway's client surface on real processes: the official `anthropic` SDK through
POST /v1/messages (plain, streamed, errors as its own exception types) to providers of any wire
format; POST /v1/embeddings with an exact receipt; GET /v1/models with aliases."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import anthropic
import openai
import pytest

from tests.e2e.conftest import register

MICRO = Decimal("0.000001")
# api_format -> (provider, model, $ per Mtok in, $ per Mtok out)
PROVIDERS = {
    "openai": ("msg-openai", "msg-via-openai", Decimal("2"), Decimal("8")),
    "anthropic": ("msg-anthropic", "msg-via-anthropic", Decimal("3"), Decimal("15")),
    "gemini": ("msg-gemini", "msg-via-gemini", Decimal("0.5"), Decimal("2.5")),
}
SYSTEM, PROMPT = "be brief", "hello world"
PROMPT_TOKENS = (4 + 2) + (4 + 2)  # the simulator's count: 4 per message + its words


@pytest.fixture(scope="module")
def providers(swarm, http):
    sim = swarm.url("simulator")
    for api_format, (name, model, price_in, price_out) in PROVIDERS.items():
        register(http, swarm, {"name": name, "model": model, "context_window": 100_000, "api_format": api_format,
                               "input_per_mtok": str(price_in), "output_per_mtok": str(price_out),
                               "endpoint": sim + "/sim/tps=0"})
    register(http, swarm, {"name": "msg-refuses", "model": "msg-refused", "context_window": 100_000,
                           "input_per_mtok": "1", "output_per_mtok": "1",
                           "endpoint": sim + "/sim/error_rate=1,status=400"})
    register(http, swarm, {"name": "msg-count-fails", "model": "msg-count-fails", "context_window": 100_000,
                           "api_format": "anthropic", "input_per_mtok": "1", "output_per_mtok": "1",
                           "endpoint": sim + "/sim/error_rate=1,status=500"})
    register(http, swarm, {"name": "msg-cut", "model": "msg-cut", "context_window": 100_000,
                           "input_per_mtok": "1", "output_per_mtok": "1", "endpoint": sim + "/sim/tps=0,drop=1"})
    register(http, swarm, {"name": "embedder", "model": "embed-e2e", "context_window": 8192, "features": ["embeddings"],
                           "input_per_mtok": "100", "output_per_mtok": "0", "endpoint": sim})
    register(http, swarm, {"name": "embed-lookalike", "model": "embed-e2e", "context_window": 8192,
                           "input_per_mtok": "1", "output_per_mtok": "0", "endpoint": sim})
    for model in ("msg-via-openai", "msg-via-anthropic", "msg-via-gemini", "msg-refused", "msg-cut", "embed-e2e",
                  "msg-count-fails"):
        swarm.wait_for_model(model)


def claude(swarm, run_id: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=swarm.url("gateway"), api_key="unused", max_retries=0,
                               default_headers={"X-Tollway-Run": run_id})


def receipts(swarm, run_id):
    lines = (swarm.costs / f"{run_id}.jsonl").read_text().splitlines()
    return [json.loads(line, parse_float=Decimal) for line in lines]


def cost(api_format: str, input_tokens: int, output_tokens: int) -> Decimal:
    _, _, price_in, price_out = PROVIDERS[api_format]
    return ((input_tokens * price_in / 1_000_000).quantize(MICRO)
            + (output_tokens * price_out / 1_000_000).quantize(MICRO))


@pytest.mark.parametrize("api_format", PROVIDERS)
def test_the_anthropic_sdk_gets_a_message_from_a_provider_of_any_format(swarm, providers, api_format):
    run_id = f"messages-plain-{api_format}"
    message = claude(swarm, run_id).messages.create(model=PROVIDERS[api_format][1], max_tokens=5, system=SYSTEM,
                                                    messages=[{"role": "user", "content": PROMPT}])
    assert message.type == "message" and message.role == "assistant"
    assert [block.type for block in message.content] == ["text"]
    assert len(message.content[0].text.split()) == 5
    assert message.stop_reason == "max_tokens"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (PROMPT_TOKENS, 5)
    [receipt] = receipts(swarm, run_id)
    assert receipt["provider"] == PROVIDERS[api_format][0] and receipt["status"] == "success"
    assert (receipt["input_tokens"], receipt["output_tokens"]) == (PROMPT_TOKENS, 5)
    assert receipt["cost_usd"] == cost(api_format, PROMPT_TOKENS, 5) > 0


@pytest.mark.parametrize("api_format", PROVIDERS)
def test_the_anthropic_sdk_streams_a_message_with_its_usage(swarm, providers, api_format):
    run_id = f"messages-stream-{api_format}"
    with claude(swarm, run_id).messages.stream(model=PROVIDERS[api_format][1], max_tokens=4, system=SYSTEM,
                                               messages=[{"role": "user", "content": PROMPT}]) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) == 4 and len("".join(pieces).split()) == 4
    assert final.content[0].text == "".join(pieces)
    assert final.stop_reason == "max_tokens"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (PROMPT_TOKENS, 4)
    [receipt] = receipts(swarm, run_id)
    assert receipt["stream"] is True and receipt["status"] == "success" and receipt["usage_estimated"] is False
    assert receipt["cost_usd"] == cost(api_format, PROMPT_TOKENS, 4)
    assert receipt["ttft_ms"] > 0


def test_errors_reach_the_anthropic_sdk_as_its_own_exception_types(swarm, providers):
    client = claude(swarm, "messages-errors")
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.create(model="no-such-model", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert "no-such-model" in missing.value.message
    with pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.create(model="msg-refused", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert "provider msg-refuses refused the request: simulated error 400" in refused.value.message
    assert refused.value.body["type"] == "error"
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model="msg-via-openai", max_tokens=0, messages=[{"role": "user", "content": "x"}])


def test_a_stream_cut_short_raises_in_the_anthropic_sdk_instead_of_ending_cleanly(swarm, providers):
    client = claude(swarm, "messages-cut")
    with pytest.raises(anthropic.APIStatusError) as cut, \
            client.messages.stream(model="msg-cut", max_tokens=20, messages=[{"role": "user", "content": "x"}]) as s:
        list(s.text_stream)
    assert "no fallback after the first byte" in str(cut.value)
    [receipt] = receipts(swarm, "messages-cut")
    assert receipt["status"] == "error" and receipt["error"]["type"] == "truncated"


def test_embeddings_go_to_a_provider_with_the_feature_and_the_receipt_is_exact(swarm, providers):
    client = openai.OpenAI(base_url=swarm.url("gateway") + "/v1", api_key="unused", max_retries=0,
                           default_headers={"X-Tollway-Run": "embeddings"})
    result = client.embeddings.create(model="embed-e2e", input=["hello world", "one two three"])
    assert [d.index for d in result.data] == [0, 1] and all(len(d.embedding) == 8 for d in result.data)
    assert result.usage.prompt_tokens == 5  # the simulator's count: one token per word
    [receipt] = receipts(swarm, "embeddings")
    assert receipt["provider"] == "embedder"  # the cheaper lookalike lacks the embeddings feature
    assert (receipt["input_tokens"], receipt["output_tokens"], receipt["usage_estimated"]) == (5, 0, False)
    assert receipt["cost_usd"] == receipt["input_cost_usd"] == Decimal("0.000500")  # 5 x $100 per Mtok
    assert "embed-lookalike" in receipt["reason"]


def test_models_lists_aliases_with_what_they_stand_for(swarm, providers, http):
    resp = http.put(swarm.url("router") + "/routing/aliases/claude-any",
                    json={"models": ["msg-via-anthropic", "msg-via-gemini"]})
    assert resp.status_code in (200, 201), resp.text
    client = openai.OpenAI(base_url=swarm.url("gateway") + "/v1", api_key="unused")
    for _ in range(100):  # until the gateway's snapshot has the alias
        listed = {m.id: m for m in client.models.list().data}
        if "claude-any" in listed:
            break
        time.sleep(0.05)
    alias = listed["claude-any"].model_dump()
    assert alias["alias_of"] == ["msg-via-anthropic", "msg-via-gemini"]
    assert alias["providers"] == ["msg-anthropic", "msg-gemini"]
    assert "msg-via-openai" in listed


def test_a_cached_answer_reaches_the_anthropic_sdk_replayed_as_a_stream(swarm, providers):
    client = claude(swarm, "messages-cache")
    ask = {"model": "msg-via-openai", "max_tokens": 6, "extra_body": {"temperature": 0},  # deterministic: cached
           "messages": [{"role": "user", "content": "the same question twice"}]}
    first = client.messages.create(**ask)
    with client.messages.stream(**ask) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == first.content[0].text and final.stop_reason == first.stop_reason
    paid, cached = receipts(swarm, "messages-cache")
    assert paid["cost_usd"] > 0 and cached["cache"] == "hit" and cached["cost_usd"] == 0


def test_a_successful_stream_that_costs_nothing_at_a_priced_provider_is_counted(swarm, providers, http):
    register(http, swarm, {"name": "near-free", "model": "near-free", "context_window": 8192,
                           "input_per_mtok": "0.0001", "output_per_mtok": "0.0001", "endpoint": swarm.url("simulator")})
    swarm.wait_for_model("near-free")
    before = http.get(swarm.url("gateway") + "/health").json()["receipts"]["zero_cost_successes"]
    client = openai.OpenAI(base_url=swarm.url("gateway") + "/v1", api_key="unused",
                           default_headers={"X-Tollway-Run": "zero-cost"})
    assert list(client.chat.completions.create(model="near-free", max_tokens=3, stream=True,
                                               messages=[{"role": "user", "content": "hi"}]))
    [receipt] = receipts(swarm, "zero-cost")
    assert receipt["status"] == "success" and receipt["output_tokens"] == 3 and receipt["cost_usd"] == 0
    assert http.get(swarm.url("gateway") + "/health").json()["receipts"]["zero_cost_successes"] == before + 1
    assert "zero_cost_success" in swarm.log("gateway")


def test_count_tokens_asks_an_anthropic_provider_and_says_so(swarm, providers):
    raw = claude(swarm, "count").messages.with_raw_response.count_tokens(
        model="msg-via-anthropic", system=SYSTEM, messages=[{"role": "user", "content": PROMPT}])
    assert raw.parse().input_tokens == PROMPT_TOKENS  # the simulator's count (12), not the estimate (16)
    assert raw.headers["x-tollway-token-count"] == "provider"
    assert raw.headers["x-tollway-provider"] == "msg-anthropic"
    assert "x-tollway-token-count-fallback" not in raw.headers


def test_count_tokens_falls_back_to_the_estimate_when_the_provider_fails_and_says_why(swarm, providers):
    raw = claude(swarm, "count").messages.with_raw_response.count_tokens(
        model="msg-count-fails", system=SYSTEM, messages=[{"role": "user", "content": PROMPT}])
    assert raw.parse().input_tokens == 16  # the gateway's estimate: (19 + 3) // 4 + 4 * 2 + 3
    assert raw.headers["x-tollway-token-count"] == "estimate"
    assert raw.headers["x-tollway-token-count-fallback"] == "msg-count-fails: HTTP 500"


def test_count_tokens_of_a_provider_of_another_format_is_the_estimate(swarm, providers):
    raw = claude(swarm, "count").messages.with_raw_response.count_tokens(
        model="msg-via-openai", system=SYSTEM, messages=[{"role": "user", "content": PROMPT}])
    assert raw.parse().input_tokens == 16
    assert raw.headers["x-tollway-token-count"] == "estimate"
    assert "x-tollway-token-count-fallback" not in raw.headers
