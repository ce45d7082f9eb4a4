"""The official `openai` and `anthropic` SDKs through the gateway on real processes, with tools and
errors: a provider of any wire format calls a tool (the simulator's `tool=` spec), the SDK parses
it as its own tool call, plain and streamed, and the tool's result goes back and is answered;
errors surface as the SDKs' own exception types (unknown model, every provider rate limited,
a missing or unknown key where keys are required)."""

from __future__ import annotations

import json
import secrets
from decimal import Decimal

import anthropic
import openai
import pytest

from tests.e2e.conftest import register
from tests.e2e.swarm import Swarm

FORMATS = ("openai", "anthropic", "gemini")
ASK = "rain in Oslo"
ARGUMENTS = {"query": ASK}  # the simulator's tool call: the last user message as its query
CALL_TOKENS = 3  # '{"query":"rain', ' in', ' Oslo"}': one token per piece
RESULT = "sunny and 20 C"
ASK_TOKENS = 4 + 3  # the simulator's count: 4 per message + its words
ROUND_TRIP_TOKENS = ASK_TOKENS + 4 + (4 + 4)  # + the call (no text) + the result's 4 words
WEATHER = {"name": "get_weather", "description": "the weather somewhere",
           "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}


def model(api_format: str) -> str:
    return f"tools-via-{api_format}"


@pytest.fixture(scope="module")
def providers(swarm, http):
    sim = swarm.url("simulator")
    for api_format in FORMATS:
        register(http, swarm, {"name": f"tools-{api_format}", "model": model(api_format), "context_window": 100_000,
                               "api_format": api_format, "input_per_mtok": "2", "output_per_mtok": "8",
                               "features": ["function_calling"], "endpoint": sim + "/sim/tps=0,tool=get_weather"})
    for sdk in ("openai", "anthropic"):  # two providers each, both always rate limited
        for n in (1, 2):
            register(http, swarm, {"name": f"limited-{sdk}-{n}", "model": f"limited-{sdk}", "context_window": 8192,
                                   "input_per_mtok": "1", "output_per_mtok": "1",
                                   "endpoint": sim + f"/sim/error_rate=1,status=429,retry_after=0,seed={n}"})
    for name in [*map(model, FORMATS), "limited-openai", "limited-anthropic"]:
        swarm.wait_for_model(name)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    s = Swarm(tmp_path_factory.mktemp("keyed"), admin_key="adm-" + secrets.token_hex(8),
              extra_env={"TOLLWAY_REQUIRE_KEYS": "true"})
    s.start_all()
    yield s
    s.stop_all()


def gpt(swarm: Swarm, run_id: str = "", api_key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=swarm.url("gateway") + "/v1", api_key=api_key, max_retries=0,
                         default_headers={"X-Tollway-Run": run_id} if run_id else None)


def claude(swarm: Swarm, run_id: str = "", api_key: str = "unused") -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=swarm.url("gateway"), api_key=api_key, max_retries=0,
                               default_headers={"X-Tollway-Run": run_id} if run_id else None)


def receipts(swarm: Swarm, run_id: str) -> list[dict]:
    lines = (swarm.costs / f"{run_id}.jsonl").read_text().splitlines()
    return [json.loads(line, parse_float=Decimal) for line in lines]


def assert_paid(receipt: dict, api_format: str, input_tokens: int, output_tokens: int, *, stream: bool) -> None:
    assert receipt["provider"] == f"tools-{api_format}" and receipt["status"] == "success"
    assert receipt["stream"] is stream and receipt["usage_estimated"] is False
    assert (receipt["input_tokens"], receipt["output_tokens"]) == (input_tokens, output_tokens)
    expected = (Decimal(input_tokens * 2) / 1_000_000).quantize(Decimal("0.000001")) \
        + (Decimal(output_tokens * 8) / 1_000_000).quantize(Decimal("0.000001"))
    assert receipt["cost_usd"] == expected > 0


def assert_round_trip_paid(swarm: Swarm, run_id: str, api_format: str, answer_tokens: int) -> None:
    """Two receipts: the call (the ask in, the call out), then the answer (the whole exchange in)."""
    first, second = receipts(swarm, run_id)
    assert_paid(first, api_format, ASK_TOKENS, CALL_TOKENS, stream=False)
    assert_paid(second, api_format, ROUND_TRIP_TOKENS, answer_tokens, stream=False)


@pytest.mark.parametrize("api_format", FORMATS)
def test_the_openai_sdk_gets_a_tool_call_and_the_tools_result_is_answered(swarm, providers, api_format):
    run_id = f"sdk-tools-{api_format}"
    client = gpt(swarm, run_id)
    tools = [{"type": "function", "function": WEATHER}]
    ask = [{"role": "user", "content": ASK}]
    reply = client.chat.completions.create(model=model(api_format), tools=tools, messages=ask)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls" and not choice.message.content
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.id and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == ARGUMENTS
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (ASK_TOKENS, CALL_TOKENS)
    # the result goes back under the call's id (the simulator refuses a result that answers no call)
    answered = client.chat.completions.create(model=model(api_format), tools=tools, messages=[
        *ask, choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": RESULT}])
    assert answered.choices[0].finish_reason == "stop" and answered.choices[0].message.content
    assert not answered.choices[0].message.tool_calls
    assert answered.usage.prompt_tokens == ROUND_TRIP_TOKENS
    assert_round_trip_paid(swarm, run_id, api_format, answered.usage.completion_tokens)


@pytest.mark.parametrize("api_format", FORMATS)
def test_the_openai_sdk_assembles_a_streamed_tool_call(swarm, providers, api_format):
    run_id = f"sdk-tools-stream-{api_format}"
    with gpt(swarm, run_id).chat.completions.stream(model=model(api_format), tools=[{"type": "function",
                                                                                    "function": WEATHER}],
                                                    messages=[{"role": "user", "content": ASK}]) as stream:
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert call.id and call.function.name == "get_weather" and json.loads(call.function.arguments) == ARGUMENTS
    [receipt] = receipts(swarm, run_id)
    assert_paid(receipt, api_format, ASK_TOKENS, CALL_TOKENS, stream=True)
    assert receipt["ttft_ms"] > 0  # the call's arguments are its first tokens


def test_errors_reach_the_openai_sdk_as_its_own_exception_types(swarm, providers):
    client = gpt(swarm, "sdk-errors")
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    assert missing.value.status_code == 404 and "no-such-model" in missing.value.message
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model="limited-openai", messages=[{"role": "user", "content": "x"}])
    assert limited.value.status_code == 429 and limited.value.response.headers["retry-after"] == "1"
    assert "every provider tried failed" in limited.value.message
    assert all(f"limited-openai-{n}: HTTP 429" in limited.value.message for n in (1, 2))
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=model("openai"), max_tokens=0, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.APIStatusError) as streamed:  # a stream refused before its first byte: the same error
        client.chat.completions.create(model="limited-openai", stream=True, messages=[{"role": "user", "content": "x"}])
    assert streamed.value.status_code == 429


@pytest.mark.parametrize("api_format", FORMATS)
def test_the_anthropic_sdk_gets_a_tool_use_and_the_tools_result_is_answered(swarm, providers, api_format):
    run_id = f"sdk-claude-tools-{api_format}"
    client = claude(swarm, run_id)
    tools = [{"name": WEATHER["name"], "description": WEATHER["description"], "input_schema": WEATHER["parameters"]}]
    ask = [{"role": "user", "content": ASK}]
    message = client.messages.create(model=model(api_format), max_tokens=50, tools=tools, messages=ask)
    assert message.stop_reason == "tool_use"
    [use] = [block for block in message.content if block.type == "tool_use"]
    assert use.id and use.name == "get_weather" and use.input == ARGUMENTS
    assert (message.usage.input_tokens, message.usage.output_tokens) == (ASK_TOKENS, CALL_TOKENS)
    answered = client.messages.create(model=model(api_format), max_tokens=50, tools=tools, messages=[
        *ask, {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in message.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": RESULT}]}])
    assert answered.stop_reason == "end_turn" and [b.type for b in answered.content] == ["text"]
    assert answered.usage.input_tokens == ROUND_TRIP_TOKENS
    assert_round_trip_paid(swarm, run_id, api_format, answered.usage.output_tokens)


@pytest.mark.parametrize("api_format", FORMATS)
def test_the_anthropic_sdk_assembles_a_streamed_tool_use(swarm, providers, api_format):
    tools = [{"name": WEATHER["name"], "input_schema": WEATHER["parameters"]}]
    with claude(swarm, f"sdk-claude-stream-{api_format}").messages.stream(
            model=model(api_format), max_tokens=50, tools=tools, messages=[{"role": "user", "content": ASK}]) as s:
        final = s.get_final_message()
    assert final.stop_reason == "tool_use"
    [use] = [block for block in final.content if block.type == "tool_use"]
    assert use.name == "get_weather" and use.input == ARGUMENTS
    assert final.usage.output_tokens == CALL_TOKENS


def test_a_rate_limit_everywhere_reaches_the_anthropic_sdk_as_its_rate_limit_error(swarm, providers):
    with pytest.raises(anthropic.RateLimitError) as limited:
        claude(swarm).messages.create(model="limited-anthropic", max_tokens=5,
                                      messages=[{"role": "user", "content": "x"}])
    assert limited.value.status_code == 429 and limited.value.response.headers["retry-after"] == "1"
    assert limited.value.body["error"]["type"] == "rate_limit_error"


NO_KEY = {"Authorization": anthropic.Omit(), "X-Api-Key": anthropic.Omit()}  # the SDK sends its key in either


def test_a_missing_or_unknown_key_is_the_sdks_authentication_error(keyed):
    ask = {"model": "any", "messages": [{"role": "user", "content": "x"}]}
    for key, why in ((None, "needs a key"), ("sk-not-a-tollway-key", "unknown key")):
        with pytest.raises(openai.AuthenticationError) as refused:  # None: the SDK sends no key header at all
            gpt(keyed, api_key=key or "unused").chat.completions.create(
                **ask, extra_headers={"Authorization": openai.Omit()} if key is None else None)
        assert refused.value.status_code == 401 and why in refused.value.message
        with pytest.raises(anthropic.AuthenticationError) as refused_claude:
            claude(keyed, api_key=key or "unused").messages.create(
                **ask, max_tokens=5, extra_headers=NO_KEY if key is None else None)
        assert refused_claude.value.status_code == 401 and why in refused_claude.value.message
