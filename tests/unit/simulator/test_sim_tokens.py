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
