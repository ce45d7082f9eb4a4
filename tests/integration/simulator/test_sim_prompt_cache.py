"""Spec keys `cache_read`, `cache_write` and `cache_write_1h`: each format reports prompt-cache
tokens as its real provider does, plain and streamed, and the official SDKs read them. The prompt is
taken to start with the cached prefix, so every format counts cache_read + cache_write +
cache_write_1h + the messages' tokens in all: Anthropic's `input_tokens` leaves the cached ones out
and `cache_creation` splits the writes into 5-minute and 1-hour ones; OpenAI's `prompt_tokens`
counts them in, the reads as `cached_tokens` and the writes as `cache_write_tokens`; Gemini's
`promptTokenCount` counts them in, the reads as `cachedContentTokenCount` (no writes)."""

import anthropic
import httpx
import openai
import pytest

from tests.integration.simulator.conftest import make_app, serve
from tests.integration.simulator.test_sim_anthropic_api import events as anthropic_events
from tests.integration.simulator.test_sim_gemini_api import chunks as gemini_chunks
from tests.integration.simulator.test_sim_openai_api import events as openai_events

SPEC = "/sim/cache_read=800,cache_write=100,tokens=3"
SPEC_1H = "/sim/cache_read=800,cache_write=100,cache_write_1h=40,tokens=3"  # 40 more written for an hour
MESSAGES = [{"role": "user", "content": "what did we agree"}]  # 4 + 4 words = 8 tokens
PROMPT = 8
GEMINI = {"contents": [{"role": "user", "parts": [{"text": "what did we agree"}]}]}
GEMINI_PATH = "/v1beta/models/gemini-sim:"


async def test_anthropic_leaves_the_cached_tokens_out_of_input_tokens(client):
    body = {"model": "claude-sim", "max_tokens": 10, "messages": MESSAGES}
    data = (await client.post(SPEC + "/v1/messages", json=body)).json()
    split = {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 0}
    assert data["usage"] == {"input_tokens": PROMPT, "cache_read_input_tokens": 800,
                             "cache_creation_input_tokens": 100, "cache_creation": split, "output_tokens": 3}
    seq = anthropic_events((await client.post(SPEC + "/v1/messages", json={**body, "stream": True})).text)
    start = seq[0][1]["message"]["usage"]
    assert start == {"input_tokens": PROMPT, "cache_read_input_tokens": 800, "cache_creation_input_tokens": 100,
                     "cache_creation": split, "output_tokens": 1}
    assert seq[-2][0] == "message_delta" and seq[-2][1]["usage"] == {"output_tokens": 3}


@pytest.mark.parametrize(("spec", "written"), [(SPEC, 100), (SPEC_1H, 140)], ids=["5m", "5m+1h"])
async def test_openai_counts_the_cached_tokens_inside_prompt_tokens(client, spec, written):
    """Reads as cached_tokens, writes of any lifetime as cache_write_tokens."""
    body = {"model": "gpt-sim", "messages": MESSAGES}
    data = (await client.post(spec + "/v1/chat/completions", json=body)).json()
    usage = {"prompt_tokens": 800 + written + PROMPT, "completion_tokens": 3,
             "total_tokens": 800 + written + PROMPT + 3,
             "prompt_tokens_details": {"cached_tokens": 800, "cache_write_tokens": written}}
    assert data["usage"] == usage
    streamed = openai_events((await client.post(spec + "/v1/chat/completions", json={
        **body, "stream": True, "stream_options": {"include_usage": True}})).text)
    assert streamed[-1]["choices"] == [] and streamed[-1]["usage"] == usage


async def test_openai_reports_a_write_alone_as_cache_write_tokens(client):
    data = (await client.post("/sim/cache_write=50/v1/chat/completions",
                              json={"model": "gpt-sim", "messages": MESSAGES, "max_tokens": 1})).json()
    assert data["usage"] == {"prompt_tokens": 50 + PROMPT, "completion_tokens": 1, "total_tokens": 50 + PROMPT + 1,
                             "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 50}}


async def test_anthropic_splits_the_writes_into_5_minute_and_1_hour_ones(client):
    body = {"model": "claude-sim", "max_tokens": 10, "messages": MESSAGES}
    usage = {"input_tokens": PROMPT, "cache_read_input_tokens": 800, "cache_creation_input_tokens": 140,
             "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 40}}
    data = (await client.post(SPEC_1H + "/v1/messages", json=body)).json()
    assert data["usage"] == {**usage, "output_tokens": 3}
    seq = anthropic_events((await client.post(SPEC_1H + "/v1/messages", json={**body, "stream": True})).text)
    assert seq[0][0] == "message_start" and seq[0][1]["message"]["usage"] == {**usage, "output_tokens": 1}
    one_hour_only = (await client.post("/sim/cache_write_1h=25/v1/messages", json=body)).json()["usage"]
    assert (one_hour_only["cache_creation_input_tokens"], one_hour_only["cache_creation"]) \
        == (25, {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 25})


async def test_without_the_keys_nothing_changes(client):
    openai_usage = (await client.post("/v1/chat/completions", json={"model": "m", "messages": MESSAGES,
                                                                    "max_tokens": 1})).json()["usage"]
    assert openai_usage == {"prompt_tokens": PROMPT, "completion_tokens": 1, "total_tokens": PROMPT + 1}
    gemini_usage = (await client.post(GEMINI_PATH + "generateContent", json={
        **GEMINI, "generationConfig": {"maxOutputTokens": 1}})).json()["usageMetadata"]
    assert gemini_usage == {"promptTokenCount": PROMPT, "candidatesTokenCount": 1, "totalTokenCount": PROMPT + 1}
    anthropic_usage = (await client.post("/v1/messages", json={"model": "m", "max_tokens": 1,
                                                               "messages": MESSAGES})).json()["usage"]
    assert (anthropic_usage["cache_read_input_tokens"], anthropic_usage["cache_creation_input_tokens"]) == (0, 0)
    assert anthropic_usage["cache_creation"] == {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}


async def test_gemini_counts_the_cached_tokens_inside_prompt_token_count(client):
    data = (await client.post(SPEC + GEMINI_PATH + "generateContent", json=GEMINI)).json()
    assert data["usageMetadata"] == {"promptTokenCount": 800 + 100 + PROMPT, "candidatesTokenCount": 3,
                                     "cachedContentTokenCount": 800, "totalTokenCount": 800 + 100 + PROMPT + 3}
    streamed = gemini_chunks((await client.post(SPEC + GEMINI_PATH + "streamGenerateContent?alt=sse",
                                                json=GEMINI)).text)
    assert len(streamed) == 3
    assert all(c["usageMetadata"]["promptTokenCount"] == 908 and c["usageMetadata"]["cachedContentTokenCount"] == 800
               for c in streamed)
    assert streamed[-1]["usageMetadata"]["totalTokenCount"] == 908 + 3
    one_hour = (await client.post(SPEC_1H + GEMINI_PATH + "generateContent", json=GEMINI)).json()["usageMetadata"]
    assert (one_hour["promptTokenCount"], one_hour["cachedContentTokenCount"]) == (800 + 140 + PROMPT, 800)


async def test_a_tool_call_reports_the_cache_too(client):
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    data = (await client.post("/sim/tool=lookup,cache_read=64/v1/chat/completions",
                              json={"model": "m", "messages": MESSAGES, "tools": tools})).json()
    assert data["choices"][0]["finish_reason"] == "tool_calls"
    assert data["usage"]["prompt_tokens"] == 64 + PROMPT
    assert data["usage"]["prompt_tokens_details"] == {"cached_tokens": 64, "cache_write_tokens": 0}


async def test_the_openai_sdk_reads_cached_tokens(app):
    async with openai.AsyncOpenAI(base_url="http://sim" + SPEC + "/v1", api_key="x", max_retries=0,
                                  http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=app))) as client:
        reply = await client.chat.completions.create(model="gpt-sim", messages=MESSAGES)
    assert reply.usage.prompt_tokens == 908 and reply.usage.prompt_tokens_details.cached_tokens == 800
    assert reply.usage.prompt_tokens_details.cache_write_tokens == 100


@pytest.fixture(scope="module")
def base_url():
    with serve(make_app()) as url:
        yield url


@pytest.mark.parametrize(("spec", "split"), [(SPEC, (100, 0)), (SPEC_1H, (100, 40))], ids=["5m", "5m+1h"])
def test_the_anthropic_sdk_reads_cache_reads_and_writes_plain_and_streamed(base_url, spec, split):
    # on a real socket: the SDK brings its own HTTP client (httpx2 in recent versions, httpx before)
    with anthropic.Anthropic(base_url=base_url + spec, api_key="x", max_retries=0) as client:
        message = client.messages.create(model="claude-sim", max_tokens=10, messages=MESSAGES)
        with client.messages.stream(model="claude-sim", max_tokens=10, messages=MESSAGES) as stream:
            final = stream.get_final_message()
    for answer in (message, final):
        usage = answer.usage
        assert (usage.input_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens,
                usage.output_tokens) == (PROMPT, 800, sum(split), 3)
        assert (usage.cache_creation.ephemeral_5m_input_tokens, usage.cache_creation.ephemeral_1h_input_tokens) \
            == split
    assert final.content[0].text == message.content[0].text
