"""The simulator's Gemini API (and Azure OpenAI's deployment URLs): bodies, SSE chunks,
batchEmbedContents, errors."""

import orjson
import pytest

from services.simulator import embeddings

GENERATE = "/v1beta/models/gemini-sim:generateContent"
STREAM = "/v1beta/models/gemini-sim:streamGenerateContent?alt=sse"


def body(text="hello world", **config):
    out = {"systemInstruction": {"parts": [{"text": "be brief"}]},
           "contents": [{"role": "user", "parts": [{"text": text}]}]}
    if config:
        out["generationConfig"] = config
    return out


def chunks(raw: str):
    assert raw.endswith("\r\n\r\n")
    blocks = [b for b in raw.split("\r\n\r\n") if b]
    assert all(b.startswith("data: ") for b in blocks)
    return [orjson.loads(b[6:]) for b in blocks]


async def test_generate_content_answers_with_candidates_and_usage_metadata(client):
    resp = await client.post(GENERATE, json=body(maxOutputTokens=4))
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    data = resp.json()
    [candidate] = data["candidates"]
    assert candidate["content"]["role"] == "model" and candidate["finishReason"] == "MAX_TOKENS"
    assert len(candidate["content"]["parts"][0]["text"].split()) == 4
    assert data["modelVersion"] == "gemini-sim"  # from the URL
    # systemInstruction (4 + 2 words) + user (4 + 2 words)
    assert data["usageMetadata"] == {"promptTokenCount": 12, "candidatesTokenCount": 4, "totalTokenCount": 16}


async def test_the_v1_path_answers_too_and_stops_without_max_tokens(client):
    data = (await client.post("/sim/tokens=3/v1/models/other:generateContent", json=body())).json()
    assert data["candidates"][0]["finishReason"] == "STOP" and data["modelVersion"] == "other"
    assert data["usageMetadata"]["candidatesTokenCount"] == 3


async def test_stream_sends_a_chunk_per_token_and_finishes_on_the_last(client):
    resp = await client.post("/sim/tokens=4" + STREAM, json=body())
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
    got = chunks(resp.text)
    assert len(got) == 4
    assert [c["candidates"][0].get("finishReason") for c in got] == [None, None, None, "STOP"]
    assert [c["usageMetadata"].get("candidatesTokenCount") for c in got] == [1, 2, 3, 4]  # cumulative
    assert all(c["usageMetadata"]["promptTokenCount"] == 12 for c in got)
    text = "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in got)
    whole = (await client.post("/sim/tokens=4" + GENERATE, json=body())).json()
    assert text == whole["candidates"][0]["content"]["parts"][0]["text"]


async def test_a_zero_token_stream_still_finishes(client):
    [only] = chunks((await client.post("/sim/tokens=0" + STREAM, json=body())).text)
    assert only["candidates"][0]["finishReason"] == "STOP" and "candidatesTokenCount" not in only["usageMetadata"]


@pytest.mark.parametrize("bad, field", [({"contents": []}, "contents"),
                                        ({"contents": [{"role": "user", "parts": []}]}, "parts"),
                                        ({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, "role")])
async def test_bad_requests_are_400_invalid_argument(client, bad, field):
    resp = await client.post(GENERATE, json=bad)
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["code"] == 400 and err["status"] == "INVALID_ARGUMENT" and field in err["message"]


async def test_injected_429_is_resource_exhausted_with_retry_after(client):
    resp = await client.post("/sim/error_rate=1,status=429,retry_after=3" + STREAM, json=body())
    assert resp.status_code == 429 and resp.headers["retry-after"] == "3"
    assert resp.json() == {"error": {"code": 429, "message": "simulated error 429", "status": "RESOURCE_EXHAUSTED"}}


async def test_model_list_in_gemini_shape(client):
    names = [m["name"] for m in (await client.get("/v1beta/models")).json()["models"]]
    assert "models/sim-model" in names


async def test_azure_deployment_url_speaks_openai_and_wants_an_api_version(client):
    path = "/openai/deployments/my-deployment/chat/completions"
    chat = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    data = (await client.post(path + "?api-version=2024-10-21", json=chat)).json()
    assert data["object"] == "chat.completion" and data["model"] == "my-deployment"
    assert data["usage"]["completion_tokens"] == 2
    missing = await client.post(path, json=chat)
    assert missing.status_code == 404 and "api-version" in missing.json()["error"]["message"]


EMBED = "/v1beta/models/gemini-embed:batchEmbedContents"


def embed_body(*texts, model="models/gemini-embed", **extra):
    return {"requests": [{"model": model, "content": {"parts": [{"text": t}]}, **extra} for t in texts]}


async def test_batch_embed_contents_answers_a_vector_per_request_as_openai_embeddings_would(client):
    resp = await client.post(EMBED, json=embed_body("hello world", "one two three"))
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    data = resp.json()
    assert list(data) == ["embeddings"]  # no usage: Google reports none for embeddings
    assert [len(e["values"]) for e in data["embeddings"]] == [embeddings.DEFAULT_DIMENSIONS] * 2
    assert [e["values"] for e in data["embeddings"]] == [embeddings.vector("hello world", 8),
                                                         embeddings.vector("one two three", 8)]
    openai_way = (await client.post("/v1/embeddings", json={"model": "m", "input": ["hello world", "one two three"]}))
    assert [d["embedding"] for d in openai_way.json()["data"]] == [e["values"] for e in data["embeddings"]]
    again = await client.post("/v1/models/gemini-embed:batchEmbedContents", json=embed_body("hello world"))
    assert again.json()["embeddings"][0] == data["embeddings"][0]  # the /v1 path, and the same text, same vector


async def test_output_dimensionality_sets_the_length_per_request(client):
    body = embed_body("a", "b")
    body["requests"][0]["outputDimensionality"] = 3
    data = (await client.post(EMBED, json=body)).json()
    assert [len(e["values"]) for e in data["embeddings"]] == [3, 8]
    assert abs(sum(x * x for x in data["embeddings"][0]["values"]) - 1) < 1e-5  # a unit vector


@pytest.mark.parametrize("bad, field", [
    ({"requests": []}, "requests"),
    (embed_body(*["x"] * 101), "at most 100 requests"),
    (embed_body("x", model="models/other"), "requests[0].model"),
    ({"requests": [{"model": "models/gemini-embed", "content": {"parts": []}}]}, "requests[0].content"),
    (embed_body("x", outputDimensionality=0), "outputDimensionality"),
])
async def test_bad_batch_embed_requests_are_400_invalid_argument(client, bad, field):
    resp = await client.post(EMBED, json=bad)
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["status"] == "INVALID_ARGUMENT" and field in err["message"]


async def test_batch_embed_contents_has_the_fault_controls_in_gemini_shape(client):
    resp = await client.post("/sim/error_rate=1,status=429,retry_after=2" + EMBED, json=embed_body("x"))
    assert resp.status_code == 429 and resp.headers["retry-after"] == "2"
    assert resp.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    first = await client.post("/sim/fail_first=1,status=503" + EMBED, json=embed_body("x"))
    second = await client.post("/sim/fail_first=1,status=503" + EMBED, json=embed_body("x"))
    assert (first.status_code, first.json()["error"]["status"], second.status_code) == (503, "UNAVAILABLE", 200)
