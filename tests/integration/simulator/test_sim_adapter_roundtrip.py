"""Each gateway adapter round-trips a request and a stream (and, where its format has them,
embeddings) against the simulator speaking its wire format: the request the adapter builds is
accepted, and the answer comes back OpenAI-shaped with the simulator's exact token counts."""

from decimal import Decimal

import orjson
import pytest

from services.common.registry.provider import Provider
from services.gateway.adapters.base import Usage
from services.gateway.adapters.registry import adapter_for
from services.simulator import embeddings

FORMATS = ["openai", "azure", "anthropic", "gemini"]
PAYLOAD = {"model": "alias", "max_tokens": 5,
           "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello world"}]}
PROMPT_TOKENS = (4 + 2) + (4 + 2)  # the simulator's count: 4 per message + its words


def provider(api_format: str, spec: str = "") -> Provider:
    return Provider(name=api_format, model="sim-model", context_window=10_000,
                    endpoint="http://sim" + (f"/sim/{spec}" if spec else ""), input_per_token=Decimal("0.000001"),
                    output_per_token=Decimal("0.000002"), api_format=api_format)


async def send(client, api_format, *, stream, spec="", payload=PAYLOAD):
    adapter = adapter_for(api_format)
    req = adapter.build_request(provider(api_format, spec), payload, "key", stream=stream)
    resp = await client.post(req.url, content=req.body, headers=req.headers)
    return adapter, resp


def sse_events(raw: bytes) -> list[list[bytes]]:
    """Group the lines of an SSE body into events, as the gateway's relay does."""
    events, lines = [], []
    for line in raw.splitlines(keepends=True):
        lines.append(line)
        if line in (b"\n", b"\r\n"):
            events.append(lines)
            lines = []
    return events + ([lines] if lines else [])


@pytest.mark.parametrize("api_format", FORMATS)
async def test_plain_answer_round_trips_to_an_openai_completion(client, api_format):
    adapter, resp = await send(client, api_format, stream=False)
    assert resp.status_code == 200, resp.text
    parsed = adapter.parse_response(resp.content)
    body = orjson.loads(parsed.body)
    assert body["object"] == "chat.completion"
    choice = body["choices"][0]
    assert choice["finish_reason"] == "length" and len(choice["message"]["content"].split()) == 5
    assert (parsed.usage.input_tokens, parsed.usage.output_tokens) == (PROMPT_TOKENS, 5)
    assert body["usage"]["prompt_tokens"] == PROMPT_TOKENS and body["usage"]["completion_tokens"] == 5


@pytest.mark.parametrize("api_format", FORMATS)
async def test_stream_round_trips_to_openai_chunks_with_usage_and_done(client, api_format):
    adapter, resp = await send(client, api_format, stream=True, spec="tokens=3")
    assert resp.status_code == 200, resp.text
    parser = adapter.stream_parser()
    out = [event for lines in sse_events(resp.content) for event in parser.parse_event(lines)]
    assert out[-1].done and out[-1].raw == b"data: [DONE]\n\n"
    chunks = [orjson.loads(e.raw[6:]) for e in out if e.raw and not e.done]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert len(text.split()) == 3 and text == "".join(e.text for e in out)
    assert [e.finish_reason for e in out if e.finish_reason] == ["stop"]
    usage = [e.usage for e in out if e.usage][-1]  # the latest usage seen, as the relay keeps it
    assert (usage.input_tokens, usage.output_tokens) == (PROMPT_TOKENS, 3)
    assert sum(e.usage_only for e in out) == 1


@pytest.mark.parametrize("api_format", FORMATS)
async def test_errors_round_trip_to_the_providers_message(client, api_format):
    adapter, resp = await send(client, api_format, stream=False, spec="error_rate=1,status=503")
    assert resp.status_code == 503
    assert adapter.error_message(resp.status_code, resp.content) == "simulated error 503"


@pytest.mark.parametrize("api_format", ["openai", "azure", "gemini"])
async def test_embeddings_round_trip_to_the_same_vectors_in_every_format(client, api_format):
    adapter = adapter_for(api_format)
    texts = ["hello world", "one two three"]
    req = adapter.build_embeddings_request(provider(api_format), {"model": "alias", "input": texts, "dimensions": 5},
                                           "key")
    resp = await client.post(req.url, content=req.body, headers=req.headers)
    assert resp.status_code == 200, resp.text
    parsed = adapter.parse_embeddings(resp.content)
    assert [item["embedding"] for item in orjson.loads(parsed.body)["data"]] == \
        [embeddings.vector(text, 5) for text in texts]
    # OpenAI's format counts the words; Gemini's reports nothing and the gateway estimates
    assert parsed.usage == (None if api_format == "gemini" else Usage(5, 0))



TOOL = {"type": "function", "function": {"name": "get_weather", "description": "the weather in a city",
                                         "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}}
ASKED = {**PAYLOAD, "tools": [TOOL]}
ARGUMENTS = {"query": "hello world"}  # the simulator's tool call: the last user message as the query


def streamed_tool_calls(adapter, raw: bytes) -> tuple[list[dict], list[str]]:
    """The tool calls assembled from a stream's OpenAI chunks (by index, arguments joined), and the finish reasons."""
    calls: dict[int, dict] = {}
    reasons = []
    parser = adapter.stream_parser()
    for event in (e for lines in sse_events(raw) for e in parser.parse_event(lines) if e.raw):
        if event.finish_reason:
            reasons.append(event.finish_reason)
        for line in event.raw.splitlines():
            if not line.startswith(b"data: {"):
                continue
            for choice in orjson.loads(line[6:]).get("choices") or []:
                for part in choice["delta"].get("tool_calls") or []:
                    call = calls.setdefault(part["index"], {"id": "", "name": "", "arguments": ""})
                    call["id"] += part.get("id") or ""
                    call["name"] += part.get("function", {}).get("name") or ""
                    call["arguments"] += part.get("function", {}).get("arguments") or ""
    return [calls[i] for i in sorted(calls)], reasons


@pytest.mark.parametrize("api_format", FORMATS)
async def test_a_tool_call_round_trips_and_so_does_its_result(client, api_format):
    adapter, resp = await send(client, api_format, stream=False, spec="tool=get_weather", payload=ASKED)
    assert resp.status_code == 200, resp.text
    parsed = adapter.parse_response(resp.content)
    choice = orjson.loads(parsed.body)["choices"][0]
    [call] = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["function"]["name"] == "get_weather" and call["id"]
    assert orjson.loads(call["function"]["arguments"]) == ARGUMENTS
    assert choice["finish_reason"] == "tool_calls"
    assert (parsed.usage.input_tokens, parsed.usage.output_tokens) == (PROMPT_TOKENS, 2)  # two pieces of JSON
    # the result goes back under the call's id; the simulator refuses one that answers no call
    answered = {**ASKED, "messages": [*ASKED["messages"], choice["message"],
                                      {"role": "tool", "tool_call_id": call["id"], "content": "sunny and warm"}]}
    adapter, resp = await send(client, api_format, stream=False, spec="tool=get_weather", payload=answered)
    assert resp.status_code == 200, resp.text
    parsed = adapter.parse_response(resp.content)
    choice = orjson.loads(parsed.body)["choices"][0]
    assert choice["finish_reason"] == "length" and len(choice["message"]["content"].split()) == 5
    assert "tool_calls" not in choice["message"]
    assert parsed.usage.input_tokens == PROMPT_TOKENS + 4 + (4 + 3)  # the call (no text), and the result's 3 words
    stray = {**answered, "messages": [*ASKED["messages"], {"role": "tool", "tool_call_id": "call_x", "content": "x"}]}
    adapter, resp = await send(client, api_format, stream=False, spec="tool=get_weather", payload=stray)
    assert resp.status_code == 400, resp.text


@pytest.mark.parametrize("api_format", FORMATS)
async def test_a_streamed_tool_call_round_trips_to_openai_tool_call_chunks(client, api_format):
    adapter, resp = await send(client, api_format, stream=True, spec="tool=get_weather", payload=ASKED)
    assert resp.status_code == 200, resp.text
    [call], reasons = streamed_tool_calls(adapter, resp.content)
    assert call["name"] == "get_weather" and call["id"] and orjson.loads(call["arguments"]) == ARGUMENTS
    assert reasons == ["tool_calls"]


@pytest.mark.parametrize("api_format", FORMATS)
async def test_a_tool_not_offered_is_not_called(client, api_format):
    adapter, resp = await send(client, api_format, stream=False, spec="tool=other_tool", payload=ASKED)
    choice = orjson.loads(adapter.parse_response(resp.content).body)["choices"][0]
    assert choice["finish_reason"] == "length" and not choice["message"].get("tool_calls")
