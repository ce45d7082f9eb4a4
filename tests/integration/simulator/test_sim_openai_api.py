"""The simulator's OpenAI chat-completions API: bodies, streams, injected errors, bad specs."""

import asyncio
import time

import httpx
import orjson
import pytest

from tests.integration.simulator.conftest import make_app

CHAT = "/v1/chat/completions"


def body(content="hello world", **extra):
    return {"model": "my-model", "messages": [{"role": "system", "content": "be brief"},
                                              {"role": "user", "content": content}], **extra}


def events(text):
    assert text.endswith("data: [DONE]\n\n")
    blocks = [b for b in text.split("\n\n") if b]
    assert all(b.startswith("data: ") for b in blocks)
    return [orjson.loads(b[6:]) for b in blocks[:-1]]


async def test_non_streaming_answer_is_a_chat_completion_with_predictable_usage(client):
    resp = await client.post(CHAT, json=body(max_tokens=5))
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    data = resp.json()
    assert data["object"] == "chat.completion" and data["id"].startswith("chatcmpl-")
    assert data["model"] == "my-model" and isinstance(data["created"], int)
    choice = data["choices"][0]
    assert choice["message"]["role"] == "assistant" and len(choice["message"]["content"].split()) == 5
    assert choice["finish_reason"] == "length"
    assert data["usage"] == {"prompt_tokens": (4 + 2) + (4 + 2), "completion_tokens": 5, "total_tokens": 17}


async def test_same_request_same_reply_and_default_length_is_twenty(client):
    first = (await client.post(CHAT, json=body())).json()
    second = (await client.post(CHAT, json=body())).json()
    assert first["choices"][0]["message"]["content"] == second["choices"][0]["message"]["content"]
    assert first["usage"]["completion_tokens"] == 20 and first["choices"][0]["finish_reason"] == "stop"


async def test_spec_sets_reply_length(client):
    data = (await client.post("/sim/tokens=3" + CHAT, json=body(max_tokens=10))).json()
    assert data["usage"]["completion_tokens"] == 3 and data["choices"][0]["finish_reason"] == "stop"


async def test_stream_sends_role_tokens_finish_usage_then_done(client):
    resp = await client.post("/sim/tokens=4" + CHAT, json=body(stream=True, stream_options={"include_usage": True}))
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
    chunks = events(resp.text)
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "my-model" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    pieces = [c["choices"][0]["delta"]["content"] for c in chunks[1:5]]
    assert len(pieces) == 4 and all(pieces)
    assert chunks[5]["choices"][0]["finish_reason"] == "stop" and chunks[5]["choices"][0]["delta"] == {}
    assert chunks[6]["choices"] == [] and chunks[6]["usage"] == {"prompt_tokens": 12, "completion_tokens": 4,
                                                                 "total_tokens": 16}
    assert len(chunks) == 7
    whole = (await client.post("/sim/tokens=4" + CHAT, json=body())).json()
    assert "".join(pieces) == whole["choices"][0]["message"]["content"]


async def test_stream_without_include_usage_has_no_usage_chunk(client):
    resp = await client.post(CHAT, json=body(stream=True, max_tokens=2))
    chunks = events(resp.text)
    assert len(chunks) == 1 + 2 + 1 and all("usage" not in c for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


async def test_error_rate_one_answers_the_status_in_openai_shape(client):
    resp = await client.post("/sim/error_rate=1,status=503" + CHAT, json=body())
    assert resp.status_code == 503
    err = resp.json()["error"]
    assert set(err) >= {"message", "type", "code"} and "503" in err["message"]
    assert "retry-after" not in resp.headers


async def test_429_says_when_to_retry(client):
    resp = await client.post("/sim/error_rate=1,status=429" + CHAT, json=body(stream=True))
    assert resp.status_code == 429 and resp.headers["retry-after"] == "1"
    assert resp.json()["error"]["code"] == "rate_limit_exceeded"


async def test_default_status_is_500(client):
    resp = await client.post("/sim/error_rate=1" + CHAT, json=body())
    assert resp.status_code == 500 and resp.json()["error"]["type"] == "server_error"


async def test_seeded_error_draws_are_the_same_in_every_simulator():
    async def statuses():
        app = make_app()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as c:
            return [(await c.post("/sim/error_rate=0.5,seed=11,tokens=1" + CHAT, json=body())).status_code
                    for _ in range(30)]

    first = await statuses()
    assert first == await statuses()
    assert set(first) == {200, 500}


@pytest.mark.parametrize("spec, key", [("bogus=1", "bogus"), ("error_rate=2", "error_rate"),
                                       ("status=abc", "status"), ("latency_ms", "latency_ms")])
async def test_bad_spec_is_a_400_naming_the_key(client, spec, key):
    for resp in (await client.post(f"/sim/{spec}" + CHAT, json=body()), await client.get(f"/sim/{spec}/v1/models")):
        assert resp.status_code == 400 and resp.headers["content-type"] == "application/json"
        err = resp.json()["error"]
        assert err["param"] == key and key in err["message"] and err["code"] == "invalid_sim_spec"


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b'{"messages": []}', b'{"model": "m"}',
                                 b'{"messages": [{"role": "user"}], "max_tokens": 0}'])
async def test_bad_body_is_a_400(client, raw):
    resp = await client.post(CHAT, content=raw, headers={"content-type": "application/json"})
    assert resp.status_code == 400
    assert resp.json()["error"]["type"] == "invalid_request_error"


async def test_latency_delays_the_answer(client):
    started = time.perf_counter()
    resp = await client.post("/sim/latency_ms=60,tokens=1" + CHAT, json=body())
    assert resp.status_code == 200 and time.perf_counter() - started >= 0.06


async def test_hang_never_answers(client):
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.post("/sim/hang=1" + CHAT, json=body()), 0.3)


async def test_models_health_and_env_defaults():
    app = make_app(tokens=2, models="a,b")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as c:
        listed = (await c.get("/v1/models")).json()
        assert listed["object"] == "list" and [m["id"] for m in listed["data"]] == ["a", "b"]
        assert (await c.get("/sim/tokens=3/v1/models")).status_code == 200
        health = (await c.get("/health")).json()
        assert health["status"] == "ok" and health["service"] == "simulator"
        assert (await c.post(CHAT, json=body())).json()["usage"]["completion_tokens"] == 2
