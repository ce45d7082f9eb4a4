"""Google's official SDK (`google-genai`) against the simulator's Gemini API on a real socket:
text, streams, function calls, embeddings (the SDK calls batchEmbedContents on the Gemini API),
errors as the SDK's own types, and prompt-cache tokens. The gateway speaks OpenAI and Anthropic
to its clients, so this SDK checks the simulator's fidelity only, not a path through the gateway."""

from contextlib import contextmanager

import pytest
from google import genai
from google.genai import errors, types

from services.simulator.embeddings import vector
from services.simulator.tokens import reply_pieces
from tests.integration.simulator.conftest import make_app, serve

MODEL = "gemini-sim"
BRIEF = types.GenerateContentConfig(system_instruction="be brief")
PROMPT = (4 + 2) + (4 + 2)  # "be brief" and "hello there": 4 per message + its words


@pytest.fixture(scope="module")
def base_url():
    with serve(make_app()) as url:
        yield url


@contextmanager
def gemini(base_url, spec=""):
    """A client of the simulator, its behaviour `spec`; the SDK does not retry unless told to."""
    options = types.HttpOptions(base_url=base_url + (f"/sim/{spec}" if spec else ""), api_version="v1beta")
    with genai.Client(api_key="sim-key", http_options=options) as client:
        yield client


def test_generate_content_reads_the_text_and_usage(base_url):
    with gemini(base_url, "tokens=5") as client:
        reply = client.models.generate_content(model=MODEL, contents="hello there", config=BRIEF)
    assert reply.text == "".join(reply_pieces("hello there", 5))
    assert reply.candidates[0].finish_reason == types.FinishReason.STOP
    assert reply.model_version == MODEL and reply.response_id
    usage = reply.usage_metadata
    assert (usage.prompt_token_count, usage.candidates_token_count, usage.total_token_count) == (PROMPT, 5, PROMPT + 5)
    assert usage.cached_content_token_count is None


def test_max_output_tokens_cuts_the_answer_short(base_url):
    with gemini(base_url) as client:
        reply = client.models.generate_content(model=MODEL, contents="hello there",
                                               config=types.GenerateContentConfig(max_output_tokens=3))
    assert reply.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert reply.text == "".join(reply_pieces("hello there", 3)) and reply.usage_metadata.candidates_token_count == 3


def test_a_stream_joins_to_the_same_text_and_ends_with_the_usage(base_url):
    with gemini(base_url, "tokens=4") as client:
        whole = client.models.generate_content(model=MODEL, contents="hello there", config=BRIEF)
        chunks = list(client.models.generate_content_stream(model=MODEL, contents="hello there", config=BRIEF))
    assert len(chunks) == 4
    assert "".join(c.text for c in chunks) == whole.text
    assert [c.candidates[0].finish_reason for c in chunks] == [None, None, None, types.FinishReason.STOP]
    last = chunks[-1].usage_metadata
    assert (last.prompt_token_count, last.candidates_token_count, last.total_token_count) == (PROMPT, 4, PROMPT + 4)


# the async client runs on aiohttp when it is installed (it is, for the gateway); the SDK's subclass warns
@pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning")
async def test_the_async_client_streams_too(base_url):
    with gemini(base_url, "tokens=3") as client:
        chunks = [c async for c in await client.aio.models.generate_content_stream(model=MODEL,
                                                                                    contents="hello there")]
        await client.aio.aclose()
    assert "".join(c.text for c in chunks) == "".join(reply_pieces("hello there", 3))
    assert chunks[-1].usage_metadata.candidates_token_count == 3


WEATHER = types.Tool(function_declarations=[types.FunctionDeclaration(
    name="get_weather", description="the forecast for a place",
    parameters=types.Schema(type=types.Type.OBJECT, properties={"query": types.Schema(type=types.Type.STRING)},
                            required=["query"]))])


def test_a_function_call_is_parsed_with_its_args_and_its_answer_gets_text(base_url):
    config = types.GenerateContentConfig(tools=[WEATHER])
    question = types.Content(role="user", parts=[types.Part.from_text(text="rain in Oslo")])
    with gemini(base_url, "tool=get_weather,tokens=2") as client:
        reply = client.models.generate_content(model=MODEL, contents=[question], config=config)
        [call] = reply.function_calls
        assert (call.name, call.args) == ("get_weather", {"query": "rain in Oslo"})
        [part] = reply.candidates[0].content.parts
        assert part.text is None and reply.usage_metadata.candidates_token_count == 3
        answer = types.Part.from_function_response(name="get_weather", response={"forecast": "rain"})
        follow_up = client.models.generate_content(
            model=MODEL, config=config,
            contents=[question, reply.candidates[0].content, types.Content(role="user", parts=[answer])])
    # a text answer now, seeded (as the simulator does) by the last user turn: the function response
    assert follow_up.function_calls is None
    assert follow_up.text == "".join(reply_pieces('{"forecast":"rain"}', 2))


def test_embed_content_gets_the_simulators_vectors(base_url):
    with gemini(base_url) as client:
        result = client.models.embed_content(model="text-embedding-sim", contents=["hello world", "one two"],
                                             config=types.EmbedContentConfig(output_dimensionality=16))
        default = client.models.embed_content(model="text-embedding-sim", contents="hello world")
    assert [e.values for e in result.embeddings] == [vector("hello world", 16), vector("one two", 16)]
    assert default.embeddings[0].values == vector("hello world", 8)


@pytest.mark.parametrize(("spec", "error", "code", "status"), [
    ("error_rate=1,status=429,retry_after=7", errors.ClientError, 429, "RESOURCE_EXHAUSTED"),
    ("fail_first=1,status=503", errors.ServerError, 503, "UNAVAILABLE"),
])
def test_an_error_status_is_the_sdks_own_error(base_url, spec, error, code, status):
    with gemini(base_url, spec) as client, pytest.raises(error) as info:
        client.models.generate_content(model=MODEL, contents="hello there")
    assert (info.value.code, info.value.status, info.value.message) == (code, status, f"simulated error {code}")
    if code == 429:
        assert info.value.response.headers["retry-after"] == "7"


def test_an_invalid_request_is_a_client_error_naming_the_field(base_url):
    with gemini(base_url) as client, pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=MODEL, contents="x",
                                       config=types.GenerateContentConfig(max_output_tokens=0))
    assert (info.value.code, info.value.status) == (400, "INVALID_ARGUMENT")
    assert "maxOutputTokens" in info.value.message


def test_prompt_cache_reads_are_in_the_usage_plain_and_streamed(base_url):
    with gemini(base_url, "cache_read=800,cache_write=100,tokens=2") as client:
        reply = client.models.generate_content(model=MODEL, contents="hello there", config=BRIEF)
        chunks = list(client.models.generate_content_stream(model=MODEL, contents="hello there", config=BRIEF))
    for usage in (reply.usage_metadata, chunks[-1].usage_metadata):
        assert usage.cached_content_token_count == 800
        assert usage.prompt_token_count == 800 + 100 + PROMPT  # Gemini counts the cached tokens in
        assert usage.total_token_count == 800 + 100 + PROMPT + 2
