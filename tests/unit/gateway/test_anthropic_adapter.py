"""The Anthropic Messages adapter: OpenAI requests in, Anthropic requests out; Anthropic answers,
streams and errors back as OpenAI's."""

from decimal import Decimal

import orjson

from services.common.registry.provider import Provider
from services.gateway.adapters.anthropic import AnthropicAdapter, messages_url
from services.gateway.adapters.registry import adapter_for

A = AnthropicAdapter()


def provider(**extra) -> Provider:
    return Provider(name="claude", model="claude-sonnet-4-5", context_window=200_000, endpoint="http://h:1",
                    input_per_token=Decimal("0.000003"), output_per_token=Decimal("0.000015"),
                    api_format="anthropic", **extra)


def sent(payload, *, stream=False, **extra) -> dict:
    return orjson.loads(A.build_request(provider(**extra), payload, "sk-ant", stream=stream).body)


def sse(kind: str, data: dict) -> list[bytes]:
    return [f"event: {kind}\n".encode(), b"data: " + orjson.dumps({"type": kind, **data}) + b"\n", b"\n"]


def chunk(event) -> dict:
    assert event.raw.startswith(b"data: ") and event.raw.endswith(b"\n\n")
    return orjson.loads(event.raw[6:])


def test_registered_under_anthropic_and_url_headers_follow_the_messages_api():
    assert isinstance(adapter_for("anthropic"), AnthropicAdapter)
    req = A.build_request(provider(), {"model": "alias", "messages": [{"role": "user", "content": "hi"}]},
                          "sk-ant", stream=False)
    assert req.url == "http://h:1/v1/messages"
    assert req.headers["x-api-key"] == "sk-ant" and req.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in req.headers
    assert messages_url("https://api.anthropic.com/v1/") == "https://api.anthropic.com/v1/messages"
    no_key = A.build_request(provider(), {"messages": []}, None, stream=False)
    assert "x-api-key" not in no_key.headers


def test_system_messages_become_the_system_prompt_and_roles_alternate():
    body = sent({"model": "alias", "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "developer", "content": [{"type": "text", "text": "and kind"}]},
        {"role": "user", "content": "hello"},
    ]})
    assert body["model"] == "claude-sonnet-4-5"
    assert body["system"] == "be brief\n\nand kind"
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]


def test_max_tokens_is_always_sent():
    assert sent({"messages": []})["max_tokens"] == 4096
    assert sent({"messages": []}, max_output_tokens=1000)["max_tokens"] == 1000
    assert sent({"messages": [], "max_tokens": 7}, max_output_tokens=1000)["max_tokens"] == 7
    assert sent({"messages": [], "max_completion_tokens": 9, "max_tokens": 7})["max_tokens"] == 9


def test_sampling_settings_and_stream_flag():
    body = sent({"messages": [], "temperature": 1.7, "top_p": 0.5, "stop": "END", "user": "u-1"}, stream=True)
    assert body["temperature"] == 1.0  # Anthropic's range ends at 1
    assert body["top_p"] == 0.5 and body["stop_sequences"] == ["END"]
    assert body["metadata"] == {"user_id": "u-1"} and body["stream"] is True
    assert "stream" not in sent({"messages": []})
    assert sent({"messages": [], "stop": ["a", "b"]})["stop_sequences"] == ["a", "b"]


def test_images_become_base64_or_url_sources():
    body = sent({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
    ]}]})
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "what is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]


def test_tools_tool_calls_and_tool_results_translate():
    weather = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    body = sent({
        "messages": [
            {"role": "user", "content": "weather in Paris and Rome?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Paris"}'}},
                {"id": "toolu_2", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Rome"}'}},
            ]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "toolu_2", "content": "rain"},
        ],
        "tools": [{"type": "function", "function": {"name": "weather", "description": "forecast",
                                                    "parameters": weather}}],
        "tool_choice": {"type": "function", "function": {"name": "weather"}},
        "parallel_tool_calls": False,
    })
    assert body["tools"] == [{"name": "weather", "description": "forecast", "input_schema": weather}]
    assert body["tool_choice"] == {"type": "tool", "name": "weather", "disable_parallel_tool_use": True}
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][1]["content"] == [
        {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "toolu_2", "name": "weather", "input": {"city": "Rome"}},
    ]
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
        {"type": "tool_result", "tool_use_id": "toolu_2", "content": "rain"},
    ]


def test_tool_choice_words_map_to_anthropic_types():
    tools = [{"type": "function", "function": {"name": "f"}}]
    choice = {w: sent({"messages": [], "tools": tools, "tool_choice": w}).get("tool_choice")
              for w in ("auto", "required", "none")}
    assert choice == {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}
    assert sent({"messages": [], "tools": tools})["tools"] == [{"name": "f", "input_schema": {"type": "object",
                                                                                        "properties": {}}}]
    assert "tool_choice" not in sent({"messages": [], "tool_choice": "auto"})  # no tools, no choice


def test_response_with_text_tool_use_and_cache_usage():
    raw = orjson.dumps({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "toolu_9", "name": "weather", "input": {"city": "Oslo"}}],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 25, "cache_read_input_tokens": 100,
                  "cache_creation_input_tokens": 40},
    })
    parsed = A.parse_response(raw)
    body = orjson.loads(parsed.body)
    assert body["object"] == "chat.completion" and body["id"] == "msg_01" and body["model"] == "claude-sonnet-4-5"
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Let me check."
    call = choice["message"]["tool_calls"][0]
    assert call["id"] == "toolu_9" and call["function"]["name"] == "weather"
    assert orjson.loads(call["function"]["arguments"]) == {"city": "Oslo"}
    assert body["usage"] == {"prompt_tokens": 150, "completion_tokens": 25, "total_tokens": 175,
                             "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 40}}
    u = parsed.usage
    assert (u.input_tokens, u.output_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens) == (150, 25,
                                                                                                           100, 40)


def test_stop_reasons_map_to_finish_reasons():
    def finish(stop_reason):
        raw = orjson.dumps({"id": "m", "content": [{"type": "text", "text": "x"}], "stop_reason": stop_reason,
                            "usage": {"input_tokens": 1, "output_tokens": 1}})
        return orjson.loads(A.parse_response(raw).body)["choices"][0]["finish_reason"]
    assert [finish(r) for r in ("end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal")] == [
        "stop", "length", "stop", "tool_calls", "content_filter"]


STREAM = [
    sse("message_start", {"message": {"id": "msg_s", "type": "message", "role": "assistant", "content": [],
                                      "model": "claude-sonnet-4-5", "stop_reason": None,
                                      "usage": {"input_tokens": 12, "output_tokens": 1,
                                                "cache_read_input_tokens": 30,
                                                "cache_creation_input_tokens": 0}}}),
    sse("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
    sse("ping", {}),
    sse("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Hello"}}),
    sse("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": " there"}}),
    sse("content_block_stop", {"index": 0}),
    sse("content_block_start", {"index": 1, "content_block": {"type": "tool_use", "id": "toolu_1",
                                                              "name": "weather", "input": {}}}),
    sse("content_block_delta", {"index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"city":'}}),
    sse("content_block_delta", {"index": 1, "delta": {"type": "input_json_delta", "partial_json": ' "Oslo"}'}}),
    sse("content_block_stop", {"index": 1}),
    sse("message_delta", {"delta": {"stop_reason": "tool_use", "stop_sequence": None}, "usage": {"output_tokens": 42}}),
    sse("message_stop", {}),
]


def run(events):
    parser = A.stream_parser()
    return [out for lines in events for out in parser.parse_event(lines)]


def test_stream_becomes_openai_chunks_ending_with_finish_usage_and_done():
    out = run(STREAM)
    sent_out = [e for e in out if e.raw]
    assert out[-1].done and out[-1].raw == b"data: [DONE]\n\n"
    assert sum(e.done for e in out) == 1
    chunks = [chunk(e) for e in sent_out[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == "msg_s" for c in chunks)
    assert all(c["model"] == "claude-sonnet-4-5" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Hello there"
    calls = [tc for c in chunks if c["choices"] for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    assert calls[0] == {"index": 0, "id": "toolu_1", "type": "function",
                        "function": {"name": "weather", "arguments": ""}}
    assert "".join(tc["function"]["arguments"] for tc in calls) == '{"city": "Oslo"}'
    finish = [e for e in out if e.finish_reason]
    assert [e.finish_reason for e in finish] == ["tool_calls"]
    usage_only = [e for e in out if e.usage_only]
    assert len(usage_only) == 1 and chunk(usage_only[0])["choices"] == []
    assert chunk(usage_only[0])["usage"] == {"prompt_tokens": 42, "completion_tokens": 42, "total_tokens": 84,
                                             "prompt_tokens_details": {"cached_tokens": 30}}
    # the input tokens come from message_start, the output tokens from message_delta (not added to its 1)
    assert out[-1].usage.input_tokens == 42 and out[-1].usage.output_tokens == 42
    assert "".join(e.text for e in out).startswith("Hello there")


def test_stream_usage_is_only_reported_once_message_delta_has_the_output_count():
    before_delta = run(STREAM[:-2])
    assert all(e.usage is None for e in before_delta)
    assert run(STREAM[:-1])[-1].usage.output_tokens == 42


def test_a_stream_without_message_stop_never_reports_done():
    out = run(STREAM[:-1])
    assert not any(e.done for e in out)
    assert not any(e.finish_reason for e in out)


def test_stream_max_tokens_and_empty_events():
    parser = A.stream_parser()
    assert parser.parse_event([b"\n"]) == [] and parser.parse_event([b"data: not json\n", b"\n"]) == []
    parser.parse_event(sse("message_start", {"message": {"id": "m", "model": "c", "usage": {"input_tokens": 3}}}))
    parser.parse_event(sse("message_delta", {"delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 5}}))
    out = parser.parse_event(sse("message_stop", {}))
    assert out[0].finish_reason == "length" and out[-1].done
    assert (out[-1].usage.input_tokens, out[-1].usage.output_tokens) == (3, 5)


def test_stream_error_event_is_passed_on_as_an_error_chunk():
    [event] = A.stream_parser().parse_event(
        sse("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}}))
    assert not event.done
    assert chunk(event) == {"error": {"type": "overloaded_error", "message": "Overloaded"}}


def test_error_message_reads_anthropic_error_bodies():
    raw = b'{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: required"}}'
    assert A.error_message(400, raw) == "max_tokens: required"
    assert A.error_message(529, b"") == "HTTP 529"


def test_a_message_reports_its_one_hour_writes_from_the_cache_creation_split():
    raw = orjson.dumps({
        "id": "msg_02", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Noted."}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100,
                  "cache_creation_input_tokens": 60,
                  "cache_creation": {"ephemeral_5m_input_tokens": 20, "ephemeral_1h_input_tokens": 40}},
    })
    parsed = A.parse_response(raw)
    u = parsed.usage
    assert (u.input_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens,
            u.cache_creation_1h_input_tokens) == (170, 100, 60, 40)
    # OpenAI's usage has one write count, whatever the lifetime
    assert orjson.loads(parsed.body)["usage"]["prompt_tokens_details"] == {"cached_tokens": 100,
                                                                           "cache_write_tokens": 60}
    # without the split (older answers) there are no 1-hour writes
    raw = orjson.dumps({"id": "m", "content": [], "usage": {"input_tokens": 1, "output_tokens": 1,
                                                             "cache_creation_input_tokens": 60}})
    u = A.parse_response(raw).usage
    assert (u.input_tokens, u.cache_creation_input_tokens, u.cache_creation_1h_input_tokens) == (61, 60, 0)
    # a split reported without its total still counts in full
    raw = orjson.dumps({"id": "m", "content": [], "usage": {
        "input_tokens": 1, "output_tokens": 1, "cache_creation_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 7, "ephemeral_1h_input_tokens": 3}}})
    u = A.parse_response(raw).usage
    assert (u.input_tokens, u.cache_creation_input_tokens, u.cache_creation_1h_input_tokens) == (11, 10, 3)


def test_a_stream_keeps_the_one_hour_split_from_message_start():
    start = sse("message_start", {"message": {
        "id": "msg_s", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5",
        "stop_reason": None,
        "usage": {"input_tokens": 12, "output_tokens": 1, "cache_read_input_tokens": 30,
                  "cache_creation_input_tokens": 50,
                  "cache_creation": {"ephemeral_5m_input_tokens": 5, "ephemeral_1h_input_tokens": 45}}}})
    # message_delta's cumulative counts carry no split (MessageDeltaUsage has none): it stays
    delta = sse("message_delta", {"delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                  "usage": {"output_tokens": 4, "cache_creation_input_tokens": 50}})
    out = run([start, STREAM[1], STREAM[3], STREAM[5], delta, sse("message_stop", {})])
    u = out[-1].usage
    assert out[-1].done
    assert (u.input_tokens, u.output_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens,
            u.cache_creation_1h_input_tokens) == (92, 4, 30, 50, 45)
    # the stream without the split: no 1-hour writes
    plain = run(STREAM)[-1].usage
    assert plain.cache_creation_1h_input_tokens == 0
