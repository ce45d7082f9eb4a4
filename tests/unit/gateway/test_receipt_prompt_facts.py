"""The receipt's prompt facts: equal hashes for repeated identical requests of one tenant, different
ones across tenants or prompts, the system prompt's own hash and size, the output cap asked, and
never the prompt's text."""

from __future__ import annotations

import json

from services.gateway.receipts.prompt_facts import prompt_fields

SYSTEM = "You are a careful assistant. " * 40


def chat(question: str, **more: object) -> dict[str, object]:
    return {"model": "m1", "messages": [{"role": "system", "content": SYSTEM},
                                        {"role": "user", "content": question}], **more}


def test_repeats_share_a_hash_and_the_text_is_never_in_it() -> None:
    a = prompt_fields("org:acme", chat("What is 2+2?", max_tokens=64))
    again = prompt_fields("org:acme", chat("What is 2+2?", max_tokens=64, stream=True, user="ann"))
    assert a["prompt_hash"] == again["prompt_hash"] and len(a["prompt_hash"]) == 32
    assert int(a["prompt_hash"], 16) >= 0  # hex
    assert prompt_fields("org:acme", chat("What is 3+3?", max_tokens=64))["prompt_hash"] != a["prompt_hash"]
    assert prompt_fields("org:other", chat("What is 2+2?", max_tokens=64))["prompt_hash"] != a["prompt_hash"]
    assert prompt_fields("org:acme", chat("What is 2+2?", max_tokens=65))["prompt_hash"] != a["prompt_hash"]
    text = json.dumps(a)
    assert "2+2" not in text and "careful" not in text


def test_system_prompt_hash_size_and_max_tokens() -> None:
    a = prompt_fields("anon", chat("one", max_completion_tokens=300))
    b = prompt_fields("anon", chat("two"))
    assert a["system_prompt_hash"] == b["system_prompt_hash"] != a["prompt_hash"]
    assert a["system_prompt_tokens"] == (len(SYSTEM.encode()) + 3) // 4 + 4 + 3  # ~4 bytes a token
    assert a["max_tokens"] == 300 and "max_tokens" not in b
    plain = prompt_fields("anon", {"model": "m1", "messages": [{"role": "user", "content": "hi"}]})
    assert set(plain) == {"prompt_hash"}
    assert prompt_fields("anon", {"model": "e1", "input": "embed me"}) == {}
