"""Anthropic- and Gemini-format providers behind the gateway, on real processes: an OpenAI client
gets OpenAI-shaped answers, plain and streamed, and each receipt has the simulator's exact
tokens and the exact Decimal cost. Gemini embeddings too, through the official SDK, with the
estimated tokens their receipts must say they are."""

import json
import struct
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
EMBED_MODEL, EMBED_PRICE = "gemini-embed-e2e", Decimal("100")  # $ per Mtok in
TEXTS = ["hello world", "one two three"]


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
    register(http, swarm, {"name": "gemini-embedder", "model": EMBED_MODEL, "context_window": 2048,
                           "api_format": "gemini", "features": ["embeddings"], "input_per_mtok": str(EMBED_PRICE),
                           "output_per_mtok": "0", "endpoint": swarm.url("simulator")})
    register(http, swarm, {"name": "openai-embedder", "model": EMBED_MODEL, "context_window": 2048,
                           "features": ["embeddings"], "input_per_mtok": str(EMBED_PRICE * 2),  # second by cost
                           "output_per_mtok": "0", "endpoint": swarm.url("simulator")})
    swarm.wait_for_model(EMBED_MODEL)


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


def simulator_vectors(swarm, http, texts, dimensions=None):
    """What the simulator answers when Gemini's batchEmbedContents is called on it directly."""
    extra = {"outputDimensionality": dimensions} if dimensions else {}
    body = {"requests": [{"model": "models/" + EMBED_MODEL, "content": {"parts": [{"text": t}]}, **extra}
                         for t in texts]}
    resp = http.post(swarm.url("simulator") + f"/v1beta/models/{EMBED_MODEL}:batchEmbedContents", json=body)
    assert resp.status_code == 200, resp.text
    return [e["values"] for e in resp.json()["embeddings"]]


def as_float32(vector):
    return list(struct.unpack(f"<{len(vector)}f", struct.pack(f"<{len(vector)}f", *vector)))


def assert_estimated_receipt(receipt, tokens_in_answer):
    assert receipt["provider"] == "gemini-embedder" and receipt["status"] == "success"
    assert receipt["usage_estimated"] is True  # Gemini reports no tokens for embeddings
    assert receipt["input_tokens"] == tokens_in_answer > 0 and receipt["output_tokens"] == 0
    assert Decimal(str(receipt["prices"]["input_per_mtok"])) == EMBED_PRICE
    assert receipt["cost_usd"] == receipt["input_cost_usd"] == \
        (receipt["input_tokens"] * EMBED_PRICE / 1_000_000).quantize(MICRO) > 0


def test_the_openai_sdk_gets_gemini_embeddings_as_base64_by_default(swarm, providers, http):
    raw = client(swarm, "gemini-embed-base64").embeddings.with_raw_response.create(model=EMBED_MODEL, input=TEXTS)
    sent = raw.http_response.json()
    assert all(isinstance(item["embedding"], str) for item in sent["data"])  # the gateway encoded them
    result = raw.parse()  # the SDK decodes base64 it asked for itself
    direct = simulator_vectors(swarm, http, TEXTS)
    assert [d.index for d in result.data] == [0, 1]
    assert [d.embedding for d in result.data] == [as_float32(v) for v in direct]
    assert result.model == EMBED_MODEL
    [receipt] = receipts(swarm, "gemini-embed-base64")
    assert_estimated_receipt(receipt, result.usage.prompt_tokens)


def test_the_openai_sdk_gets_gemini_embeddings_as_floats_when_it_asks(swarm, providers, http):
    result = client(swarm, "gemini-embed-float").embeddings.create(model=EMBED_MODEL, input="hello world",
                                                                   encoding_format="float", dimensions=4)
    [item] = result.data
    assert item.embedding == simulator_vectors(swarm, http, ["hello world"], dimensions=4)[0]
    assert len(item.embedding) == 4
    [receipt] = receipts(swarm, "gemini-embed-float")
    assert_estimated_receipt(receipt, result.usage.prompt_tokens)
    assert result.usage.total_tokens == result.usage.prompt_tokens


def test_token_ids_skip_the_gemini_provider_for_one_that_takes_them(swarm, providers):
    result = client(swarm, "gemini-embed-tokens").embeddings.create(model=EMBED_MODEL, input=[[1, 2, 3]],
                                                                    encoding_format="float")
    assert len(result.data) == 1 and len(result.data[0].embedding) == 8
    [receipt] = receipts(swarm, "gemini-embed-tokens")
    assert receipt["provider"] == "openai-embedder" and receipt["fallback"] is True
    assert receipt["usage_estimated"] is False and receipt["input_tokens"] == 3  # the simulator's count
    first = receipt["attempts"][0]
    assert first["provider"] == "gemini-embedder" and "token ids" in first["error"]
