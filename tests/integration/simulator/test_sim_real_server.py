"""Faults that need a real socket: `drop` cuts streams and bodies; pacing spreads tokens over time."""

import time

import httpx
import pytest

from tests.integration.simulator.conftest import make_app, serve


@pytest.fixture(scope="module")
def base_url():
    with serve(make_app()) as url:
        yield url


BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_drop_cuts_a_stream_before_it_finishes(base_url):
    seen = []
    with pytest.raises(httpx.RemoteProtocolError), httpx.stream(
            "POST", base_url + "/sim/drop=1,tokens=6/v1/chat/completions", json={**BODY, "stream": True}) as resp:
        assert resp.status_code == 200
        for chunk in resp.iter_text():
            seen.append(chunk)
    text = "".join(seen)
    assert '"role":"assistant"' in text and "[DONE]" not in text and "finish_reason\":\"stop" not in text


def test_drop_truncates_a_plain_answer(base_url):
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(base_url + "/sim/drop=1/v1/chat/completions", json=BODY)


def test_tps_paces_the_stream(base_url):
    started = time.perf_counter()
    resp = httpx.post(base_url + "/sim/tokens=5,tps=50/v1/chat/completions", json={**BODY, "stream": True})
    assert resp.text.endswith("data: [DONE]\n\n")
    assert time.perf_counter() - started >= 5 / 50


def read_cut_stream(url, body):
    seen = []
    with pytest.raises(httpx.RemoteProtocolError), httpx.stream("POST", url, json=body) as resp:
        assert resp.status_code == 200
        for chunk in resp.iter_text():
            seen.append(chunk)
    return "".join(seen)


def test_drop_cuts_an_anthropic_stream_before_message_stop(base_url):
    text = read_cut_stream(base_url + "/sim/drop=1,tokens=6/v1/messages",
                           {**BODY, "max_tokens": 50, "stream": True})
    assert "event: message_start" in text and "text_delta" in text
    assert "message_stop" not in text and "message_delta" not in text


def test_drop_cuts_a_gemini_stream_before_its_finish_reason(base_url):
    text = read_cut_stream(base_url + "/sim/drop=1,tokens=6/v1beta/models/g:streamGenerateContent?alt=sse",
                           {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    assert text.count("data: ") == 3 and "finishReason" not in text


def test_drop_truncates_a_gemini_embeddings_answer(base_url):
    body = {"requests": [{"model": "models/g", "content": {"parts": [{"text": "hi"}]}}]}
    assert httpx.post(base_url + "/v1beta/models/g:batchEmbedContents", json=body).json()["embeddings"]
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(base_url + "/sim/drop=1/v1beta/models/g:batchEmbedContents", json=body)
