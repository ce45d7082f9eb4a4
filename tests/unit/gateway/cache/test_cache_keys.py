"""Exact keys: every answer-changing field counts, transport fields do not, tenants never share."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.errors import InvalidRequest
from services.gateway.cache.keys import canonical_bytes, last_user_text, request_key

BASE = {"model": "gpt-4o-mini", "temperature": 0,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"}]}


def key(payload, tenant="acme"):
    return request_key(tenant, payload)


def test_same_request_same_key_whatever_the_key_order():
    reordered = {"messages": BASE["messages"], "temperature": 0, "model": "gpt-4o-mini"}
    assert key(BASE).exact == key(reordered).exact


def test_integral_floats_equal_ints_but_other_numbers_stay_exact():
    assert key({**BASE, "temperature": 0.0}).exact == key(BASE).exact
    assert canonical_bytes({"t": 0.7}) != canonical_bytes({"t": 0.70000001})


@pytest.mark.parametrize("field,value", [
    ("model", "gpt-4o"), ("temperature", 0.2), ("top_p", 0.5), ("max_tokens", 10), ("seed", 7),
    ("stop", ["\n"]), ("n", 2), ("response_format", {"type": "json_object"}),
    ("tools", [{"type": "function", "function": {"name": "f", "parameters": {}}}]), ("tool_choice", "none"),
    ("presence_penalty", 0.5), ("logit_bias", {"50256": -100}), ("some_future_parameter", True),
])
def test_every_answer_changing_field_changes_the_key(field, value):
    assert key({**BASE, field: value}).exact != key(BASE).exact


@pytest.mark.parametrize("field,value", [
    ("stream", True), ("stream_options", {"include_usage": True}), ("user", "u-1"), ("metadata", {"a": "b"}),
    ("tollway", {"cache": True}),
])
def test_transport_and_caller_fields_do_not_change_the_key(field, value):
    assert key({**BASE, field: value}).exact == key(BASE).exact


def test_tenants_never_share_a_key_or_a_scope():
    a, b = key(BASE, "acme"), key(BASE, "globex")
    assert a.exact != b.exact and a.scope != b.scope


def test_a_text_part_list_is_the_same_message_as_a_string():
    parts = {**BASE, "messages": [BASE["messages"][0],
                                  {"role": "user", "content": [{"type": "text", "text": "What is 2+2?"}]}]}
    assert key(parts).exact == key(BASE).exact


def test_scope_ignores_only_the_last_user_message():
    other_question = {**BASE, "messages": [BASE["messages"][0], {"role": "user", "content": "What is 3+3?"}]}
    other_system = {**BASE, "messages": [{"role": "system", "content": "Be verbose."}, BASE["messages"][1]]}
    assert key(other_question).scope == key(BASE).scope
    assert key(other_question).exact != key(BASE).exact
    assert key(other_system).scope != key(BASE).scope
    assert key(BASE).prompt == "What is 2+2?"


def test_no_semantic_scope_when_the_last_message_is_not_plain_user_text():
    tool_turn = {**BASE, "messages": [*BASE["messages"], {"role": "tool", "content": "4", "tool_call_id": "c"}]}
    image = {**BASE, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this"}, {"type": "image_url", "image_url": {"url": "x"}}]}]}
    assert key(tool_turn).scope is None and key(tool_turn).prompt is None
    assert last_user_text(image["messages"]) is None


def test_non_finite_numbers_are_refused():
    with pytest.raises(InvalidRequest):
        key({**BASE, "temperature": float("nan")})


def test_a_key_needs_a_tenant():
    with pytest.raises(ValueError):
        request_key("", BASE)


params = st.dictionaries(st.sampled_from(["temperature", "top_p", "max_tokens", "seed", "n"]),
                         st.integers(0, 5) | st.floats(0, 2, allow_nan=False), max_size=5)


@given(params, st.text(min_size=1), st.text(min_size=1))
def test_keys_ignore_field_order_and_see_any_change_of_the_question(extra, q1, q2):
    payload = {**BASE, **extra, "messages": [{"role": "user", "content": q1}]}
    flipped = dict(reversed(list(payload.items())))
    assert key(payload).exact == key(flipped).exact
    other = {**payload, "messages": [{"role": "user", "content": q2}]}
    assert (key(payload).exact == key(other).exact) == (q1 == q2)
