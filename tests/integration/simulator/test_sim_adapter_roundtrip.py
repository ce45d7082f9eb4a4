"""Each gateway adapter round-trips a request and a stream against the simulator speaking its
wire format: the request the adapter builds is accepted, and the answer comes back OpenAI-shaped
with the simulator's exact token counts."""

from decimal import Decimal

import orjson
import pytest

from services.common.registry.provider import Provider
from services.gateway.adapters.registry import adapter_for

FORMATS = ["openai", "azure", "anthropic", "gemini"]
PAYLOAD = {"model": "alias", "max_tokens": 5,
           "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello world"}]}
PROMPT_TOKENS = (4 + 2) + (4 + 2)  # the simulator's count: 4 per message + its words


def provider(api_format: str, spec: str = "") -> Provider:
    return Provider(name=api_format, model="sim-model", context_window=10_000,
                    endpoint="http://sim" + (f"/sim/{spec}" if spec else ""), input_per_token=Decimal("0.000001"),
                    output_per_token=Decimal("0.000002"), api_format=api_format)


async def send(client, api_format, *, stream, spec=""):
    adapter = adapter_for(api_format)
    req = adapter.build_request(provider(api_format, spec), PAYLOAD, "key", stream=stream)
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

