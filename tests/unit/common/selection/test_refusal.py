"""Why nobody can serve a request, as the error an SDK understands: an unknown model names the
models that exist (and the nearest); a request larger than every context window of its model is
a 400 context_length_exceeded; a parameter whose feature no provider offers is a 400 naming it;
other spellings of a strategy are that strategy."""

from __future__ import annotations

import pytest

from services.common.errors import (
    ContextLengthExceeded,
    InvalidRequest,
    ModelNotFound,
    NoProviderMatches,
    UnsupportedParameter,
)
from services.common.selection.refusal import distance, nearest, unknown_model
from services.common.selection.request import STRATEGIES, SelectionRequest, strategy_name
from tests.unit.common.selection.fleet import ask, ctx, provider, user

FLEET = [provider("a", model="gpt-4", context_window=8192), provider("b", model="gpt-4", context_window=4096),
         provider("c", model="claude-3", context_window=200_000, features=("json_mode",))]


def test_an_unknown_model_names_the_models_that_exist_and_the_nearest():
    with pytest.raises(ModelNotFound) as err:
        ask(FLEET, model="gpt4")
    assert err.value.status == 404 and err.value.field == "model" and err.value.body()["error"]["code"] == \
        "model_not_found"
    assert "Did you mean `gpt-4`?" in err.value.message and "claude-3, gpt-4" in err.value.message
    assert "no providers are registered" not in err.value.message
    with pytest.raises(ModelNotFound) as far:
        ask(FLEET, model="something-else-entirely")
    assert "Did you mean" not in far.value.message and "gpt-4" in far.value.message


def test_an_alias_is_offered_as_a_model():
    with pytest.raises(ModelNotFound, match="Did you mean `family`"):
        ask(FLEET, "cost", ctx({"aliases": {"family": {"models": ["gpt-4"]}}}), model="familly")


def test_no_providers_at_all_says_so():
    with pytest.raises(NoProviderMatches, match="no providers are registered"):
        ask([], model="gpt-4")
    assert "no providers are registered" in unknown_model("x", []).message


def test_a_request_larger_than_every_window_of_its_model_is_context_length_exceeded():
    with pytest.raises(ContextLengthExceeded) as err:
        ask(FLEET, model="gpt-4", input_tokens=9000, output_tokens=100)
    body = err.value.body()["error"]
    assert err.value.status == 400 and body["code"] == body["type"] == "context_length_exceeded"
    assert body["param"] == "messages"
    assert "This model's maximum context length is 8192 tokens" in body["message"]  # LiteLLM's phrase
    assert "about 9100 tokens (about 9000 in the messages" in body["message"]
    with pytest.raises(ContextLengthExceeded) as asked:  # a window asked for in the requirements
        ask(FLEET, model="gpt-4", context_window=100_000)
    assert asked.value.field == "requirements.context_window"


def test_a_window_too_small_for_some_is_still_served_by_the_others():
    assert ask(FLEET, model="gpt-4", input_tokens=5000, output_tokens=100).provider.name == "a"


def test_a_response_format_no_provider_supports_is_a_400_naming_the_parameter():
    json_ask = user("hi", response_format={"type": "json_object"})
    with pytest.raises(UnsupportedParameter) as err:
        ask(FLEET, model="gpt-4", payload=json_ask)
    assert err.value.status == 400 and err.value.field == "response_format"
    assert "no provider of model gpt-4 supports a JSON response_format" in err.value.message
    assert ask(FLEET, model="claude-3", payload=json_ask).provider.name == "c"


def test_a_feature_required_by_name_stays_a_404():
    with pytest.raises(NoProviderMatches) as err:
        ask(FLEET, model="gpt-4", features=frozenset({"vision"}))
    assert type(err.value) is NoProviderMatches and err.value.status == 404


@pytest.mark.parametrize(("spelling", "name"), [
    ("round-robin", "round_robin"), ("least-busy", "least_busy"), ("Round-Robin", "round_robin"),
    ("cost-based", "cost"), ("latency-based", "latency"), ("round_robin", "round_robin"), ("nonsense", "nonsense"),
])
def test_strategy_spellings(spelling, name):
    assert strategy_name(spelling) == name


def test_a_strategy_spelling_selects_that_strategy():
    fleet = [provider("x"), provider("y")]
    shared = ctx()
    picks = {ask(fleet, "round-robin", shared).provider.name for _ in range(2)}
    assert picks == {"x", "y"}
    assert ask(fleet, "least-busy").strategy == "least_busy"
    assert SelectionRequest.from_json({"optimization": "round-robin"}).optimization == "round_robin"
    with pytest.raises(InvalidRequest, match="round-robin"):
        ask(fleet, "nonsense")
    assert all(strategy_name(s) == s for s in STRATEGIES)


def test_edit_distance():
    assert distance("gpt4", "GPT-4") == 1 and distance("", "abc") == 3
    assert nearest("gpt-4o-mni", ["gpt-4o-mini", "gpt-4o"]) == "gpt-4o-mini"
    assert nearest("zzz", ["gpt-4o"]) is None
