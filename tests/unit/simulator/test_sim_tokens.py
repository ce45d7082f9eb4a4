"""Token counts follow the documented rule, and replies are deterministic."""

from services.simulator.formats.openai import parse_request
from services.simulator.reply import plan
from services.simulator.tokens import completion_tokens, finish_reason, prompt_tokens, reply_pieces


def test_prompt_tokens_are_words_plus_four_per_message():
    assert prompt_tokens(["hello"]) == 5
    assert prompt_tokens(["You are terse.", "say  hi\nnow", ""]) == (4 + 3) + (4 + 3) + 4


def test_completion_tokens_is_the_smaller_of_max_tokens_and_the_reply_length():
    assert completion_tokens(None, 20) == 20
    assert completion_tokens(5, 20) == 5
    assert completion_tokens(50, 20) == 20
    assert finish_reason(5, 20) == "length"
    assert finish_reason(20, 20) == "stop"
    assert finish_reason(None, 20) == "stop"


def test_reply_is_deterministic_one_piece_per_token_and_shorter_replies_are_prefixes():
    long = reply_pieces("hello there", 12)
    assert long == reply_pieces("hello there", 12)
    assert reply_pieces("hello there", 4) == long[:4]
    assert len(long) == 12 and long[0] == long[0].strip() and all(p.startswith(" ") for p in long[1:])
    assert reply_pieces("something else", 12) != long


def test_openai_request_counts_text_parts_and_seeds_on_the_last_user_message():
    body = {"model": "m", "max_tokens": 3, "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "one two"}, {"type": "image_url", "image_url": {}}]},
        {"role": "assistant", "content": None},
    ]}
    reply = plan(parse_request(body), reply_length=20)
    assert reply.prompt_tokens == (4 + 2) + (4 + 2) + 4
    assert reply.completion_tokens == 3 and reply.finish_reason == "length"
    assert list(reply.pieces) == reply_pieces("one two", 3)
    assert reply.model == "m"


def test_a_tool_call_is_planned_only_when_offered_and_not_answered_yet():
    from services.simulator.tokens import tool_arguments, tool_call_pieces

    assert tool_arguments('say "hi"') == '{"query":"say \\"hi\\""}'
    assert tool_call_pieces("a b  c") == ['{"query":"a', " b", " ", ' c"}']
    assert "".join(tool_call_pieces("x")) == '{"query":"x"}'
    tools = {"tools": [{"type": "function", "function": {"name": "f"}}]}
    asked = parse_request({"messages": [{"role": "user", "content": "a b"}], "max_tokens": 1, **tools})
    call = plan(asked, 20, "f")
    assert (call.tool, call.arguments, call.text, call.completion_tokens, call.finish_reason) == (
        "f", '{"query":"a b"}', "", 2, "tool_calls")  # max_tokens does not cut a tool call
    assert plan(asked, 20, "g").tool is None and plan(asked, 20).tool is None
    answered = parse_request({"messages": [{"role": "user", "content": "a b"},
                                           {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function"}]},
                                           {"role": "tool", "tool_call_id": "c1", "content": "done"}], **tools})
    assert plan(answered, 20, "f").tool is None and plan(answered, 20, "f").finish_reason == "stop"


def test_prompt_cache_tokens_come_on_top_of_the_messages_tokens():
    call = parse_request({"model": "m", "messages": [{"role": "user", "content": "one two three"}]})
    plain = plan(call, reply_length=2)
    cached = plan(call, reply_length=2, cache_read=800, cache_write=100)
    assert (plain.cache_read, plain.cache_write, plain.input_tokens) == (0, 0, 4 + 3)
    assert (cached.prompt_tokens, cached.cache_read, cached.cache_write) == (4 + 3, 800, 100)
    assert cached.input_tokens == 800 + 100 + 7
    assert cached.pieces == plain.pieces  # the cache changes the counts, not the reply


def test_one_hour_cache_writes_come_on_top_too():
    call = parse_request({"model": "m", "messages": [{"role": "user", "content": "one two three"}]})
    cached = plan(call, reply_length=2, cache_read=800, cache_write=100, cache_write_1h=60)
    assert (cached.cache_write, cached.cache_write_1h, cached.cache_written) == (100, 60, 160)
    assert cached.input_tokens == 800 + 100 + 60 + 7
    assert plan(call, reply_length=2, cache_write_1h=60).input_tokens == 60 + 7
