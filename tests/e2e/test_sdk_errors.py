"""Four real clients against a real swarm: the official `openai` and `anthropic` SDKs, LiteLLM's
SDK and `langchain-openai`. For each error case the exception class a caller catches and the
words it reads (docs/errors.md is the table): an unknown model, a request larger than every
context window, a response_format no provider supports, a budget refusal (402); and the client
surface around them: models.retrieve, count_tokens, legacy completions, strategy spellings and a
gateway /health that says which dependency it cannot reach."""

from __future__ import annotations

import os
import re
from decimal import Decimal

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM must not fetch its price map

import anthropic  # noqa: E402
import httpx  # noqa: E402
import litellm  # noqa: E402
import openai  # noqa: E402
import pytest  # noqa: E402
from langchain_openai import ChatOpenAI  # noqa: E402

from tests.e2e.conftest import register, wait_until  # noqa: E402
from tests.e2e.swarm import Swarm  # noqa: E402

MODEL = "err-model"
WINDOW = 4096
TOO_LONG = "word " * 20_000  # ~25,000 tokens by the gateway's estimate: more than any window of MODEL
ASK = [{"role": "user", "content": "hi"}]
JSON_FORMAT = {"type": "json_object"}


@pytest.fixture(scope="module")
def providers(swarm, http):
    sim = swarm.url("simulator")
    for name in ("err-a", "err-b"):
        register(http, swarm, {"name": name, "model": MODEL, "context_window": WINDOW, "input_per_mtok": "1000",
                               "output_per_mtok": "1000", "endpoint": sim + "/sim/tps=0"})
    swarm.wait_for_model(MODEL)
    run = "sdk-errors-budget"
    assert http.post(swarm.url("ledger") + "/budget", json={"run_id": run, "budget_usd": "0.001"}).status_code < 300
    swarm.wait_for_budget(run)
    return run


def gpt(swarm: Swarm, run_id: str = "sdk-errors", **headers: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=swarm.url("gateway") + "/v1", api_key="unused", max_retries=0,
                         default_headers={"X-Tollway-Run": run_id, **headers})


def claude(swarm: Swarm, run_id: str = "sdk-errors") -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=swarm.url("gateway"), api_key="unused", max_retries=0,
                               default_headers={"X-Tollway-Run": run_id})


def lite(swarm: Swarm, run_id: str = "sdk-errors", **kwargs):
    return litellm.completion(model="openai/" + kwargs.pop("model", MODEL), api_base=swarm.url("gateway") + "/v1",
                              api_key="unused", num_retries=0, max_retries=0,
                              extra_headers={"X-Tollway-Run": run_id}, **{"messages": ASK, **kwargs})


def chain(swarm: Swarm, run_id: str = "sdk-errors", model: str = MODEL, **kwargs) -> ChatOpenAI:
    return ChatOpenAI(model=model, base_url=swarm.url("gateway") + "/v1", api_key="unused", max_retries=0,
                      default_headers={"X-Tollway-Run": run_id}, **kwargs)


# -- an unknown model --------------------------------------------------------------------------

def test_an_unknown_model_is_each_sdks_not_found_error_naming_the_models(swarm, providers):
    with pytest.raises(openai.NotFoundError) as err:
        gpt(swarm).chat.completions.create(model="err-modle", messages=ASK)
    assert err.value.status_code == 404 and err.value.code == "model_not_found" and err.value.param == "model"
    assert err.value.type == "no_provider"
    assert "Did you mean `err-model`?" in err.value.message and "no providers are registered" not in err.value.message
    with pytest.raises(anthropic.NotFoundError) as claude_err:
        claude(swarm).messages.create(model="err-modle", max_tokens=5, messages=ASK)
    assert "Did you mean `err-model`?" in claude_err.value.message
    assert claude_err.value.body["error"]["type"] == "not_found_error"
    with pytest.raises(litellm.NotFoundError) as lite_err:
        lite(swarm, model="err-modle")
    assert "Did you mean `err-model`?" in str(lite_err.value)
    with pytest.raises(openai.NotFoundError) as chain_err:
        chain(swarm, model="err-modle").invoke("hi")
    assert chain_err.value.code == "model_not_found"


def test_models_retrieve_finds_a_model_and_an_alias_and_404s_the_rest(swarm, providers, http):
    client = gpt(swarm)
    model = client.models.retrieve(MODEL)
    assert model.id == MODEL and model.object == "model" and model.model_dump()["providers"] == ["err-a", "err-b"]
    resp = http.put(swarm.url("router") + "/routing/aliases/err-alias", json={"models": [MODEL]})
    assert resp.status_code in (200, 201), resp.text
    wait_until(lambda: any(m.id == "err-alias" for m in client.models.list().data), what="the alias listed")
    assert client.models.retrieve("err-alias").model_dump()["alias_of"] == [MODEL]
    with pytest.raises(openai.NotFoundError) as err:
        client.models.retrieve("err-modle")
    assert err.value.code == "model_not_found" and "Did you mean `err-model`?" in err.value.message


# -- a request larger than every context window ------------------------------------------------

def test_a_request_larger_than_every_window_is_context_length_exceeded(swarm, providers):
    big = [{"role": "user", "content": TOO_LONG}]
    with pytest.raises(openai.BadRequestError) as err:
        gpt(swarm).chat.completions.create(model=MODEL, messages=big)
    assert err.value.status_code == 400 and err.value.code == "context_length_exceeded"
    assert err.value.param == "messages"
    assert f"This model's maximum context length is {WINDOW} tokens" in err.value.message
    with pytest.raises(anthropic.BadRequestError) as claude_err:
        claude(swarm).messages.create(model=MODEL, max_tokens=5, messages=big)
    assert "maximum context length" in claude_err.value.message
    with pytest.raises(litellm.ContextWindowExceededError):  # LiteLLM knows the code and the words
        lite(swarm, messages=big)
    with pytest.raises(openai.BadRequestError) as chain_err:
        chain(swarm).invoke(TOO_LONG)
    assert chain_err.value.code == "context_length_exceeded"


# -- a response_format no provider supports ----------------------------------------------------

def test_an_unsupported_response_format_is_a_400_naming_it(swarm, providers):
    with pytest.raises(openai.BadRequestError) as err:
        gpt(swarm).chat.completions.create(model=MODEL, messages=ASK, response_format=JSON_FORMAT)
    assert err.value.param == "response_format" and err.value.code == "unsupported_parameter"
    assert "no provider of model err-model supports a JSON response_format" in err.value.message
    with pytest.raises(litellm.BadRequestError) as lite_err:
        lite(swarm, response_format=JSON_FORMAT)
    assert "response_format" in str(lite_err.value)
    with pytest.raises(openai.BadRequestError) as chain_err:
        chain(swarm, model_kwargs={"response_format": JSON_FORMAT}).invoke("hi")
    assert chain_err.value.param == "response_format"


# -- a budget refusal --------------------------------------------------------------------------

REFUSAL = re.compile(r"run (?P<run>\S+)'s budget is \$(?P<budget>[0-9.]+); \$(?P<spent>[0-9.]+) is spent and"
                     r" \$(?P<held>[0-9.]+) held for requests in flight; this request could cost up to"
                     r" \$(?P<worst>[0-9.]+)$")


def figures_of(message: str) -> dict[str, Decimal]:
    found = REFUSAL.search(message)  # the OpenAI SDK puts "Error code: 402 - " before it
    assert found, message
    return {k: Decimal(v) for k, v in found.groupdict().items() if k != "run"} | {"run": found["run"]}


def test_a_budget_refusal_is_a_402_every_sdk_raises_at_once_in_plain_words(swarm, providers, http):
    run = providers
    with pytest.raises(openai.APIStatusError) as err:
        gpt(swarm, run).chat.completions.create(model=MODEL, messages=ASK, max_tokens=50)
    exc = err.value
    assert type(exc) is openai.APIStatusError and exc.status_code == 402  # no subclass: not a RateLimitError
    assert exc.code == "insufficient_quota" and exc.type == "budget_exceeded"
    said = figures_of(exc.message)
    status = http.get(swarm.url("ledger") + f"/budget/{run}").json()  # the ledger's own figures
    assert said["run"] == run
    assert (said["budget"], said["spent"], said["held"]) == (
        Decimal(str(status["budget_usd"])), Decimal(str(status["spent_usd"])), Decimal(str(status["held_usd"])))
    assert said["worst"] == Decimal(str(exc.body["worst_case_usd"]))  # the request's worst case, as a number too
    assert said["spent"] + said["held"] + said["worst"] > said["budget"]  # why it was refused, in its own figures
    with pytest.raises(anthropic.APIStatusError) as claude_err:
        claude(swarm, run).messages.create(model=MODEL, max_tokens=50, messages=ASK)
    assert claude_err.value.status_code == 402 and claude_err.value.body["error"]["type"] == "billing_error"
    assert figures_of(claude_err.value.body["error"]["message"])["budget"] == said["budget"]
    with pytest.raises(litellm.APIError) as lite_err:  # LiteLLM's OpenAI mapping: any status it has no class for
        lite(swarm, run, max_tokens=50)
    assert not isinstance(lite_err.value, litellm.RateLimitError)
    assert lite_err.value.status_code == 402 and f"run {run}'s budget is ${said['budget']}" in str(lite_err.value)
    with pytest.raises(openai.APIStatusError) as chain_err:
        chain(swarm, run, max_tokens=50).invoke("hi")
    assert chain_err.value.status_code == 402 and chain_err.value.code == "insufficient_quota"
    assert figures_of(chain_err.value.message)["worst"] == said["worst"]  # the same request, the same worst case


def test_a_budget_refusal_is_not_retried_by_the_sdk(swarm, providers):
    """The SDKs retry 408, 409, 429 and 5xx; a 402 is not among them: one request, one refusal."""
    run = providers
    before = len((swarm.costs / f"{run}.jsonl").read_text().splitlines())
    client = openai.OpenAI(base_url=swarm.url("gateway") + "/v1", api_key="unused", max_retries=3,
                           default_headers={"X-Tollway-Run": run})
    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=50)
    assert len((swarm.costs / f"{run}.jsonl").read_text().splitlines()) == before + 1


# -- the client surface ------------------------------------------------------------------------

def test_the_anthropic_sdk_counts_tokens_with_the_gateways_estimate(swarm, providers):
    counted = claude(swarm).messages.count_tokens(model=MODEL, system="be brief",
                                                  messages=[{"role": "user", "content": "hello world"}])
    assert counted.input_tokens == 16  # two messages of 8 and 11 bytes: (19 + 3) // 4 + 4 * 2 + 3
    with pytest.raises(anthropic.NotFoundError):
        claude(swarm).messages.count_tokens(model="err-modle", messages=ASK)


def test_legacy_completions_are_served_by_chat(swarm, providers):
    client = gpt(swarm, "sdk-completions")
    done = client.completions.create(model=MODEL, prompt="say something", max_tokens=4)
    assert done.object == "text_completion" and len(done.choices[0].text.split()) == 4
    assert done.choices[0].finish_reason == "length" and done.usage.completion_tokens == 4
    pieces = [c.choices[0].text for c in client.completions.create(model=MODEL, prompt="x", max_tokens=3, stream=True)
              if c.choices]
    assert len("".join(pieces).split()) == 3
    with pytest.raises(openai.BadRequestError) as err:
        client.completions.create(model=MODEL, prompt="x", echo=True)
    assert err.value.param == "echo"


def test_strategy_spellings_work_on_every_surface(swarm, providers, http):
    client = gpt(swarm, "sdk-strategies", **{"X-Tollway-Optimization": "round-robin"})
    picked = {client.chat.completions.with_raw_response.create(model=MODEL, messages=ASK, max_tokens=1)
              .headers["x-tollway-provider"] for _ in range(2)}
    assert picked == {"err-a", "err-b"}
    routed = http.post(swarm.url("gateway") + "/route", json={
        "optimization": "least-busy", "requirements": {"model": MODEL}, "payload": {"messages": ASK, "max_tokens": 1}})
    assert routed.status_code == 200 and routed.json()["decision"]["strategy"] == "least_busy"
    selected = http.post(swarm.url("router") + "/select", json={"requirements": {"model": MODEL},
                                                                "optimization": "round-robin"})
    assert selected.status_code == 200 and selected.json()["strategy"] == "round_robin"


def test_health_says_degraded_naming_the_dependency_it_cannot_reach(tmp_path_factory):
    s = Swarm(tmp_path_factory.mktemp("health"), extra_env={"TOLLWAY_SHIP_INTERVAL_S": "0.1"})
    s.start_all()
    try:
        def health() -> dict:
            return httpx.get(s.url("gateway") + "/health").json()

        first = health()
        assert first["status"] == "ok" and first["degraded"] == []
        assert first["dependencies"]["router"]["reachable"] and first["dependencies"]["ledger"]["reachable"]
        s.stop("router")
        wait_until(lambda: health()["degraded"] == ["router"], timeout=10, what="router degraded")
        body = health()
        assert body["status"] == "degraded" and body["registry"]["connected"] is False
        assert body["routing"]["router_connected"] is False and body["dependencies"]["ledger"]["reachable"]
        s.stop("ledger")
        wait_until(lambda: health()["degraded"] == ["router", "ledger"], timeout=10, what="ledger degraded")
        body = health()
        assert body["budgets"]["connected"] is False and body["receipts"]["ledger_connected"] is False
    finally:
        s.stop_all()
