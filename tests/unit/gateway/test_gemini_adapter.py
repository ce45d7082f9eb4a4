"""The Gemini adapter: OpenAI requests in, generateContent (and batchEmbedContents) requests out;
Gemini answers, SSE streams, embeddings and errors back as OpenAI's."""

from decimal import Decimal

import orjson
import pytest

from services.common.registry.provider import Provider
from services.gateway.adapters.base import EmbeddingsAdapter
from services.gateway.adapters.gemini import THOUGHT_SIGNATURE, GeminiAdapter, model_url
from services.gateway.adapters.registry import adapter_for

G = GeminiAdapter()


def provider(endpoint="http://h:1", model="gemini-2.5-flash") -> Provider:
    return Provider(name="gem", model=model, context_window=1_000_000, endpoint=endpoint,
                    input_per_token=Decimal("0.0000003"), output_per_token=Decimal("0.0000025"),
                    api_format="gemini")


def sent(payload, *, stream=False) -> dict:
    return orjson.loads(G.build_request(provider(), payload, "AIza-key", stream=stream).body)


def sse(data: dict) -> list[bytes]:
    return [b"data: " + orjson.dumps(data) + b"\r\n", b"\r\n"]


def chunk(event) -> dict:
    assert event.raw.startswith(b"data: ") and event.raw.endswith(b"\n\n")
    return orjson.loads(event.raw[6:])


def test_registered_under_gemini_with_its_urls_and_key_header():
    assert isinstance(adapter_for("gemini"), GeminiAdapter)
    plain = G.build_request(provider(), {"messages": []}, "AIza-key", stream=False)
    assert plain.url == "http://h:1/v1beta/models/gemini-2.5-flash:generateContent"
    assert plain.headers["x-goog-api-key"] == "AIza-key" and "authorization" not in plain.headers
    streamed = G.build_request(provider(), {"messages": []}, None, stream=True)
    assert streamed.url == "http://h:1/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert "x-goog-api-key" not in streamed.headers
    assert model_url("https://g/v1beta/", "models/gemini-pro", stream=False) == \
        "https://g/v1beta/models/gemini-pro:generateContent"
    assert model_url("https://g", "tunedModels/mine", stream=False) == "https://g/v1beta/tunedModels/mine:generateContent"


def test_system_instruction_roles_and_generation_config():
    body = sent({"model": "alias", "temperature": 0.2, "top_p": 0.9, "max_tokens": 50, "stop": ["END"], "n": 2,
                 "seed": 7, "messages": [
                     {"role": "system", "content": "be brief"},
                     {"role": "user", "content": "hi"},
                     {"role": "assistant", "content": "hello"},
                     {"role": "user", "content": [{"type": "text", "text": "again"}]},
                 ]})
    assert body["systemInstruction"] == {"parts": [{"text": "be brief"}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "hi"}]},
                                {"role": "model", "parts": [{"text": "hello"}]},
                                {"role": "user", "parts": [{"text": "again"}]}]
    assert body["generationConfig"] == {"temperature": 0.2, "topP": 0.9, "maxOutputTokens": 50,
                                        "stopSequences": ["END"], "candidateCount": 2, "seed": 7}
    assert "model" not in body and "stream" not in sent({"messages": []}, stream=True)


def test_response_format_asks_for_json():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    body = sent({"messages": [], "response_format": {"type": "json_schema", "json_schema": {"name": "x",
                                                                                            "schema": schema}}})
    assert body["generationConfig"] == {"responseMimeType": "application/json", "responseJsonSchema": schema}
    body = sent({"messages": [], "response_format": {"type": "json_object"}})
    assert body["generationConfig"] == {"responseMimeType": "application/json"}


def test_images_become_inline_data_or_file_data():
    body = sent({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/webp;base64,UklGRg=="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png?size=2"}},
    ]}]})
    assert body["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "image/webp", "data": "UklGRg=="}},
        {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/cat.png?size=2"}},
    ]


def test_tools_calls_and_results_translate_and_results_are_named():
    params = {"type": "object", "properties": {"city": {"type": "string"}}, "additionalProperties": False}
    signed_id = "call_1" + THOUGHT_SIGNATURE + "c2lnbmF0dXJl"
    body = sent({
        "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "tool_calls": [
                {"id": signed_id, "type": "function", "function": {"name": "weather", "arguments": '{"city":"Oslo"}'}},
                {"id": "call_2", "type": "function", "function": {"name": "time", "arguments": "{}"}},
            ]},
            {"role": "tool", "tool_call_id": signed_id, "content": '{"sky": "clear"}'},
            {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
        ],
        "tools": [{"type": "function",
                   "function": {"name": "weather", "description": "forecast", "parameters": params}},
                  {"type": "function", "function": {"name": "time"}}],
        "tool_choice": "required",
    })
    assert body["tools"] == [{"functionDeclarations": [
        {"name": "weather", "description": "forecast", "parametersJsonSchema": params}, {"name": "time"}]}]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    assert body["contents"][1] == {"role": "model", "parts": [
        {"functionCall": {"name": "weather", "args": {"city": "Oslo"}}, "thoughtSignature": "c2lnbmF0dXJl"},
        {"functionCall": {"name": "time", "args": {}}},
    ]}
    assert body["contents"][2] == {"role": "user", "parts": [
        {"functionResponse": {"name": "weather", "response": {"sky": "clear"}}},
        {"functionResponse": {"name": "time", "response": {"content": "noon"}}},
    ]}


def test_tool_choice_modes():
    tools = [{"type": "function", "function": {"name": "f"}}]

    def config(choice):
        return sent({"messages": [], "tools": tools, "tool_choice": choice}).get("toolConfig")
    assert config("none") == {"functionCallingConfig": {"mode": "NONE"}}
    assert config("auto") == {"functionCallingConfig": {"mode": "AUTO"}}
    assert config({"type": "function", "function": {"name": "f"}}) == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}}


def test_response_with_text_function_call_and_usage():
    raw = orjson.dumps({
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "thinking...", "thought": True},
            {"text": "Checking."},
            {"functionCall": {"name": "weather", "args": {"city": "Oslo"}}, "thoughtSignature": "c2ln"},
        ]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 8, "thoughtsTokenCount": 5,
                          "cachedContentTokenCount": 16, "totalTokenCount": 33},
        "modelVersion": "gemini-2.5-flash", "responseId": "resp-1",
    })
    parsed = G.parse_response(raw)
    body = orjson.loads(parsed.body)
    assert body["object"] == "chat.completion" and body["id"] == "resp-1" and body["model"] == "gemini-2.5-flash"
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] == "Checking."
    call = choice["message"]["tool_calls"][0]
    assert call["function"] == {"name": "weather", "arguments": '{"city":"Oslo"}'}
    assert call["id"].startswith("call_") and call["id"].endswith(THOUGHT_SIGNATURE + "c2ln")
    assert body["usage"] == {"prompt_tokens": 20, "completion_tokens": 13, "total_tokens": 33,
                             "prompt_tokens_details": {"cached_tokens": 16}}
    assert (parsed.usage.input_tokens, parsed.usage.output_tokens, parsed.usage.cache_read_input_tokens) == (20, 13,
                                                                                                            16)


def test_finish_reasons_map():
    def finish(reason):
        raw = orjson.dumps({"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": reason}]})
        return orjson.loads(G.parse_response(raw).body)["choices"][0]["finish_reason"]
    assert [finish(r) for r in ("STOP", "MAX_TOKENS", "SAFETY", "RECITATION", "OTHER")] == [
        "stop", "length", "content_filter", "content_filter", "stop"]


def test_a_blocked_prompt_is_a_content_filter_answer():
    raw = orjson.dumps({"promptFeedback": {"blockReason": "SAFETY"},
                        "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9}})
    parsed = G.parse_response(raw)
    body = orjson.loads(parsed.body)
    assert body["choices"][0]["finish_reason"] == "content_filter"
    assert (parsed.usage.input_tokens, parsed.usage.output_tokens) == (9, 0)


def piece(text=None, finish=None, usage=None, call=None):
    parts = ([{"text": text}] if text is not None else []) + ([{"functionCall": call}] if call else [])
    candidate = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    data = {"candidates": [candidate], "modelVersion": "gemini-2.5-flash", "responseId": "r-9"}
    if usage:
        data["usageMetadata"] = usage
    return sse(data)


STREAM = [
    piece("Hel", usage={"promptTokenCount": 7, "totalTokenCount": 7}),
    piece("lo", usage={"promptTokenCount": 7, "candidatesTokenCount": 1, "totalTokenCount": 8}),
    piece(" world", finish="STOP", usage={"promptTokenCount": 7, "candidatesTokenCount": 3, "totalTokenCount": 10}),
]


def run(events):
    parser = G.stream_parser()
    return [out for lines in events for out in parser.parse_event(lines)]


def test_stream_becomes_openai_chunks_and_ends_on_the_finish_reason():
    out = run(STREAM)
    assert out[-1].done and out[-1].raw == b"data: [DONE]\n\n" and sum(e.done for e in out) == 1
    chunks = [chunk(e) for e in out[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == "r-9" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "Hel"}
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "Hello world"
    assert "".join(e.text for e in out) == "Hello world"
    assert [e.finish_reason for e in out if e.finish_reason] == ["stop"]
    [usage_event] = [e for e in out if e.usage_only]
    assert chunk(usage_event)["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    assert out[-1].usage.output_tokens == 3


def test_a_stream_without_a_finish_reason_never_reports_done():
    out = run(STREAM[:-1])
    assert out and not any(e.done or e.finish_reason or e.usage_only for e in out)


def test_streamed_function_calls_get_indexes_and_the_tool_calls_finish():
    out = run([piece(call={"name": "a", "args": {"x": 1}}),
               piece(call={"name": "b", "args": {}, "id": "fc-2"}, finish="STOP",
                     usage={"promptTokenCount": 4, "candidatesTokenCount": 6})])
    calls = [tc for e in out if e.raw and not e.done for c in [chunk(e)] if c["choices"]
             for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    assert [(c["index"], c["function"]["name"], c["function"]["arguments"]) for c in calls] == [
        (0, "a", '{"x":1}'), (1, "b", "{}")]
    assert calls[1]["id"] == "fc-2"
    assert [e.finish_reason for e in out if e.finish_reason] == ["tool_calls"] and out[-1].done


def test_stream_error_chunk_is_passed_on():
    [event] = G.stream_parser().parse_event(sse({"error": {"code": 503, "message": "overloaded",
                                                           "status": "UNAVAILABLE"}}))
    assert chunk(event) == {"error": {"type": "UNAVAILABLE", "message": "overloaded"}} and not event.done


def test_error_message_reads_gemini_error_bodies():
    raw = b'{"error":{"code":400,"message":"API key not valid","status":"INVALID_ARGUMENT"}}'
    assert G.error_message(400, raw) == "API key not valid"
    assert G.error_message(429, b'[{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}]') == "quota"


# -- embeddings -------------------------------------------------------------------------------
def embed_request(payload, key="AIza-key"):
    return G.build_embeddings_request(provider(model="gemini-embedding-001"), payload, key)


def test_embeddings_go_to_batch_embed_contents_one_request_per_text():
    assert isinstance(adapter_for("gemini"), EmbeddingsAdapter)
    req = embed_request({"model": "alias", "input": ["first text", "second"], "dimensions": 256,
                         "encoding_format": "base64", "user": "u1"})
    assert req.url == "http://h:1/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert req.headers == {"content-type": "application/json", "x-goog-api-key": "AIza-key"}
    assert orjson.loads(req.body) == {"requests": [
        {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "first text"}]},
         "outputDimensionality": 256},
        {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "second"}]},
         "outputDimensionality": 256},
    ]}  # encoding_format and user are the gateway's business, not Gemini's
    assert "x-goog-api-key" not in embed_request({"input": "x"}, key=None).headers


def test_one_string_is_one_request_without_a_dimensionality_unless_asked():
    assert orjson.loads(embed_request({"input": "just this"}).body) == {"requests": [
        {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "just this"}]}}]}


@pytest.mark.parametrize("tokens", [[1, 2, 3], [[1, 2], [3]]])
def test_token_ids_cannot_be_carried_and_say_so(tokens):
    with pytest.raises(ValueError, match="gemini embeds text only: input as token ids"):
        embed_request({"input": tokens})


def test_more_texts_than_one_batch_takes_are_refused_before_sending():
    assert len(orjson.loads(embed_request({"input": ["x"] * 100}).body)["requests"]) == 100
    with pytest.raises(ValueError, match="at most 100 inputs per request, not 101"):
        embed_request({"input": ["x"] * 101})


def test_batch_answer_becomes_openai_embeddings_without_usage():
    raw = b'{"embeddings": [{"values": [0.25, -0.5, 1]}, {"values": [0.125, 0, -1]}]}'
    parsed = G.parse_embeddings(raw)
    assert parsed.usage is None  # Gemini reports no tokens: the gateway estimates them
    assert orjson.loads(parsed.body) == parsed.data == {
        "object": "list", "model": "",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.25, -0.5, 1]},
                 {"object": "embedding", "index": 1, "embedding": [0.125, 0, -1]}]}


@pytest.mark.parametrize("raw", [b'{"embedding": {"values": [1]}}', b'{"embeddings": [{"values": "x"}]}', b"[]"])
def test_an_answer_that_is_not_a_batch_answer_is_refused(raw):
    with pytest.raises(ValueError, match="not a batchEmbedContents answer"):
        G.parse_embeddings(raw)
