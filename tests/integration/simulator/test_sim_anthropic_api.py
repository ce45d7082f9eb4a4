"""The simulator's Anthropic Messages API: bodies, the SSE event sequence, errors and faults."""

import asyncio
import time

import orjson
import pytest

MESSAGES = "/v1/messages"


def body(content="hello world", **extra):
    return {"model": "claude-sim", "max_tokens": 100, "system": "be brief",
            "messages": [{"role": "user", "content": content}], **extra}


def events(text):
    """(event name, data) of each SSE event; the name must match the data's type."""
    out = []
    for block in [b for b in text.split("\n\n") if b]:
        name_line, data_line = block.split("\n")
        name, data = name_line.removeprefix("event: "), orjson.loads(data_line.removeprefix("data: "))
        assert data["type"] == name
        out.append((name, data))
    return out


async def test_message_has_content_stop_reason_and_predictable_usage(client):
    resp = await client.post(MESSAGES, json=body(max_tokens=5))
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    data = resp.json()
    assert data["type"] == "message" and data["role"] == "assistant" and data["id"].startswith("msg_")
    assert data["model"] == "claude-sim" and data["stop_reason"] == "max_tokens"
    [block] = data["content"]
    assert block["type"] == "text" and len(block["text"].split()) == 5
    # system (4 + 2 words) + user (4 + 2 words)
    assert data["usage"] == {"input_tokens": 12, "output_tokens": 5, "cache_creation_input_tokens": 0,
                             "cache_read_input_tokens": 0,
                             "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}}


async def test_content_blocks_and_tool_results_count_as_text(client):
    data = (await client.post(MESSAGES, json={
        "model": "m", "max_tokens": 10, "messages": [
            {"role": "user", "content": [{"type": "text", "text": "one two"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "three"}]},
        ]})).json()
    assert data["usage"]["input_tokens"] == (4 + 2) + (4 + 0) + (4 + 1)
    assert data["stop_reason"] == "max_tokens"


async def test_stream_sends_the_event_sequence_with_usage(client):
    resp = await client.post("/sim/tokens=3" + MESSAGES, json=body(stream=True))
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
    seq = events(resp.text)
    assert [name for name, _ in seq] == ["message_start", "content_block_start", "ping",
                                         "content_block_delta", "content_block_delta", "content_block_delta",
                                         "content_block_stop", "message_delta", "message_stop"]
    start = seq[0][1]["message"]
    assert start["usage"]["input_tokens"] == 12 and start["stop_reason"] is None and start["content"] == []
    text = "".join(d["delta"]["text"] for n, d in seq if n == "content_block_delta")
    whole = (await client.post("/sim/tokens=3" + MESSAGES, json=body())).json()
    assert text == whole["content"][0]["text"] and len(text.split()) == 3
    delta = seq[7][1]
    assert delta["delta"]["stop_reason"] == "end_turn" and delta["usage"] == {"output_tokens": 3}


async def test_missing_max_tokens_or_bad_role_is_a_400_in_anthropic_shape(client):
    no_max = await client.post(MESSAGES, json={"model": "m", "messages": [{"role": "user", "content": "x"}]})
    assert no_max.status_code == 400
    assert no_max.json() == {"type": "error", "error": {"type": "invalid_request_error",
                                                         "message": no_max.json()["error"]["message"]}}
    assert "max_tokens" in no_max.json()["error"]["message"]
    bad_role = await client.post(MESSAGES, json=body(messages=[{"role": "system", "content": "x"}]))
    assert bad_role.status_code == 400 and "role" in bad_role.json()["error"]["message"]


@pytest.mark.parametrize("status, kind", [(529, "overloaded_error"), (500, "api_error"), (503, "api_error")])
async def test_injected_errors_use_anthropic_error_types(client, status, kind):
    resp = await client.post(f"/sim/error_rate=1,status={status}" + MESSAGES, json=body())
    assert resp.status_code == status and resp.json()["error"]["type"] == kind
    assert "retry-after" not in resp.headers


async def test_429_carries_the_specs_retry_after(client):
    resp = await client.post("/sim/error_rate=1,status=429,retry_after=7" + MESSAGES, json=body())
    assert resp.status_code == 429 and resp.headers["retry-after"] == "7"
    assert resp.json()["error"]["type"] == "rate_limit_error"
    default = await client.post("/sim/error_rate=1,status=429" + MESSAGES, json=body())
    assert default.headers["retry-after"] == "1"


async def test_latency_and_hang_apply_to_this_format_too(client):
    started = time.perf_counter()
    assert (await client.post("/sim/latency_ms=80" + MESSAGES, json=body())).status_code == 200
    assert time.perf_counter() - started >= 0.08
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.post("/sim/hang=1" + MESSAGES, json=body()), 0.3)


async def test_count_tokens_answers_the_input_tokens_a_message_would_report(client):
    counted = await client.post(MESSAGES + "/count_tokens", json={k: v for k, v in body().items() if k != "max_tokens"})
    assert counted.status_code == 200 and counted.json() == {"input_tokens": 12}  # as the message's usage says
    failing = await client.post("/sim/error_rate=1,status=500" + MESSAGES + "/count_tokens", json=body())
    assert failing.status_code == 500
    missing = await client.post(MESSAGES + "/count_tokens", json={"model": "claude-sim"})
    assert missing.status_code == 400 and missing.json()["error"]["type"] == "invalid_request_error"
