from services.gateway.adapters.openai import OpenAIAdapter, chat_url
from services.gateway.call import RecentRequestIds

A = OpenAIAdapter()


def test_chat_url_accepts_endpoints_with_or_without_v1():
    assert chat_url("http://h:1") == "http://h:1/v1/chat/completions"
    assert chat_url("http://h:1/v1/") == "http://h:1/v1/chat/completions"


def test_stream_requests_always_ask_for_usage_and_use_the_providers_model(monkeypatch):
    from datetime import UTC, datetime

    from services.common.registry.provider import provider_from_registration

    p = provider_from_registration({"name": "p", "model": "real-model", "context_window": 10,
                                    "input_per_mtok": 1, "output_per_mtok": 1, "endpoint": "http://h"},
                                   datetime.now(UTC))
    req = A.build_request(p, {"model": "alias", "messages": []}, "sk-secret", stream=True)
    assert b'"model":"real-model"' in req.body
    assert b'"include_usage":true' in req.body
    assert req.headers["authorization"] == "Bearer sk-secret"


def test_parse_events():
    parser = A.stream_parser()
    [ev] = parser.parse_event([b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n', b"\n"])
    assert ev.text == "Hi" and not ev.done and ev.usage is None
    [ev] = parser.parse_event([b'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,'
                               b'"prompt_tokens_details":{"cached_tokens":3}}}\n', b"\n"])
    assert ev.usage_only and ev.usage.input_tokens == 5 and ev.usage.output_tokens == 2
    assert ev.usage.cache_read_input_tokens == 3
    [ev] = parser.parse_event([b"data: [DONE]\n", b"\n"])
    assert ev.done
    [ev] = parser.parse_event([b'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n', b"\n"])
    assert ev.finish_reason == "stop"
    [ev] = parser.parse_event([b": keep-alive\n", b"\n"])
    assert ev.raw == b": keep-alive\n\n" and not ev.done


def test_a_streamed_tool_calls_arguments_count_as_generated_text():
    parser = A.stream_parser()
    [ev] = parser.parse_event([b'data: {"choices":[{"delta":{"role":"assistant","content":null,"tool_calls":['
                               b'{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]'
                               b'}}]}\n', b"\n"])
    assert ev.text == ""
    [ev] = parser.parse_event([b'data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":'
                               b'"{\\"q\\":"}},{"index":1,"function":{"arguments":"{}"}}]}}]}\n', b"\n"])
    assert ev.text == '{"q":{}'


def test_error_message_prefers_the_providers_message():
    assert A.error_message(500, b'{"error":{"message":"overloaded"}}') == "overloaded"
    assert A.error_message(502, b"") == "HTTP 502"


def test_a_reused_request_id_is_refused():
    ids = RecentRequestIds(capacity=2)
    ids.claim("a")
    try:
        ids.claim("a")
        raise AssertionError("duplicate accepted")
    except Exception as exc:
        assert getattr(exc, "status", None) == 409


USAGE_WITH_WRITES = (b'"usage":{"prompt_tokens":2600,"completion_tokens":7,"total_tokens":2607,'
                     b'"prompt_tokens_details":{"cached_tokens":2000,"cache_write_tokens":400}}')


def test_cache_writes_are_read_from_prompt_tokens_details_plain_and_streamed():
    """OpenAI's `prompt_tokens_details.cache_write_tokens` (openai SDK PromptTokensDetails): a part
    of prompt_tokens, like cached_tokens."""
    parsed = A.parse_response(b'{"choices":[{"message":{"content":"x"},"finish_reason":"stop"}],'
                              + USAGE_WITH_WRITES + b'}')
    u = parsed.usage
    assert (u.input_tokens, u.output_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens,
            u.cache_creation_1h_input_tokens) == (2600, 7, 2000, 400, 0)
    [ev] = A.stream_parser().parse_event([b'data: {"choices":[],' + USAGE_WITH_WRITES + b'}\n', b"\n"])
    assert ev.usage_only
    assert (ev.usage.input_tokens, ev.usage.cache_read_input_tokens, ev.usage.cache_creation_input_tokens) \
        == (2600, 2000, 400)
    # older answers have no cache_write_tokens: no writes
    [ev] = A.stream_parser().parse_event([b'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,'
                                          b'"prompt_tokens_details":{"cached_tokens":3}}}\n', b"\n"])
    assert (ev.usage.cache_read_input_tokens, ev.usage.cache_creation_input_tokens) == (3, 0)
