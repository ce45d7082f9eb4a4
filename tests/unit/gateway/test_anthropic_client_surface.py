"""Anthropic Messages clients: their requests as OpenAI chat requests, OpenAI answers as
Anthropic messages, and the OpenAI stream as Anthropic's event sequence."""

import orjson

from services.gateway.clients.anthropic_answer import error_body, to_message
from services.gateway.clients.anthropic_request import to_openai
from services.gateway.clients.anthropic_stream import MessageStream


def test_a_conversation_with_tools_images_and_tool_results_becomes_openai_messages():
    body = {
        "model": "m", "max_tokens": 10, "system": [{"type": "text", "text": "be brief"}],
        "stop_sequences": ["END"], "temperature": 0.2, "metadata": {"user_id": "u1"}, "stream": True,
        "tools": [{"name": "weather", "description": "look it up", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "look"},
                                         {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                                      "data": "AAA"}}]},
            {"role": "assistant", "content": [{"type": "text", "text": "checking"},
                                              {"type": "tool_use", "id": "t1", "name": "weather",
                                               "input": {"city": "Oslo"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                          "content": [{"type": "text", "text": "sunny"}]},
                                         {"type": "text", "text": "and?"}]},
        ],
    }
    out = to_openai(body)
    assert out["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "look"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}}]},
        {"role": "assistant", "content": "checking",
         "tool_calls": [{"id": "t1", "type": "function",
                         "function": {"name": "weather", "arguments": '{"city":"Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "sunny"},
        {"role": "user", "content": [{"type": "text", "text": "and?"}]},
    ]
    assert out["tools"] == [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"},
                                                               "description": "look it up"}}]
    assert (out["tool_choice"], out["parallel_tool_calls"]) == ("required", False)
    assert (out["stop"], out["temperature"], out["user"], out["max_tokens"]) == (["END"], 0.2, "u1", 10)
    assert out["stream_options"] == {"include_usage": True}


def test_an_openai_answer_with_a_tool_call_becomes_a_message_with_a_tool_use_block():
    completion = {"choices": [{"finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": "let me see",
        "tool_calls": [{"id": "c1", "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}]}}],
        "usage": {"prompt_tokens": 30, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": 20}}}
    message = to_message(completion, "m")
    assert message["content"] == [{"type": "text", "text": "let me see"},
                                  {"type": "tool_use", "id": "c1", "name": "weather", "input": {"city": "Oslo"}}]
    assert message["stop_reason"] == "tool_use" and message["model"] == "m"
    assert message["usage"] == {"input_tokens": 10, "output_tokens": 7, "cache_read_input_tokens": 20,
                                "cache_creation_input_tokens": 0}


def test_openai_cache_writes_become_anthropics_cache_creation_input_tokens():
    completion = {"choices": [{"finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
                  "usage": {"prompt_tokens": 2600, "completion_tokens": 7,
                            "prompt_tokens_details": {"cached_tokens": 2000, "cache_write_tokens": 400}}}
    # Anthropic's input_tokens leaves out the reads and the writes
    assert to_message(completion, "m")["usage"] == {"input_tokens": 200, "output_tokens": 7,
                                                    "cache_read_input_tokens": 2000,
                                                    "cache_creation_input_tokens": 400}


def events(raw: list[bytes]) -> list[dict]:
    return [orjson.loads(e.split(b"\ndata: ")[1]) for e in raw]


def test_an_openai_stream_becomes_anthropics_event_sequence():
    s = MessageStream("m")
    out = s.chunk({"choices": [{"delta": {"role": "assistant", "content": ""}}]})
    out += s.chunk({"choices": [{"delta": {"content": "Hi"}}]})
    out += s.chunk({"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "c1",
                                                            "function": {"name": "f", "arguments": ""}}]}}]})
    out += s.chunk({"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}}]})
    out += s.chunk({"choices": [{"delta": {}, "finish_reason": "tool_calls"}]})
    out += s.chunk({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}})
    out += s.end()
    got = events(out)
    assert [e["type"] for e in got] == ["message_start", "ping", "content_block_start", "content_block_delta",
                                        "content_block_stop", "content_block_start", "content_block_delta",
                                        "content_block_stop", "message_delta", "message_stop"]
    assert got[3]["delta"] == {"type": "text_delta", "text": "Hi"} and got[3]["index"] == 0
    assert got[5]["content_block"]["type"] == "tool_use" and got[5]["index"] == 1
    assert got[6]["delta"] == {"type": "input_json_delta", "partial_json": '{"a":'}
    assert got[8]["delta"]["stop_reason"] == "tool_use"
    assert got[8]["usage"]["input_tokens"] == 9 and got[8]["usage"]["output_tokens"] == 3


def test_an_error_event_stays_an_error():
    [event] = MessageStream("m").error({"type": "upstream_truncated", "message": "cut"})
    assert event.startswith(b"event: error\n")
    assert events([event])[0]["error"] == {"type": "api_error", "message": "cut"}
    assert orjson.loads(error_body(429, "slow down"))["error"]["type"] == "rate_limit_error"
