"""The official openai SDK parses the simulator's answers, plain and streamed."""

import httpx
import openai


def sdk(app, spec=""):
    base = f"http://sim/sim/{spec}/v1" if spec else "http://sim/v1"
    return openai.AsyncOpenAI(base_url=base, api_key="x", max_retries=0,
                              http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=app)))


async def test_sdk_reads_a_completion(app):
    async with sdk(app) as client:
        reply = await client.chat.completions.create(model="gpt-4", max_tokens=6,
                                                     messages=[{"role": "user", "content": "hi there"}])
    assert reply.model == "gpt-4" and reply.choices[0].finish_reason == "length"
    assert len(reply.choices[0].message.content.split()) == 6
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (6, 6, 12)


async def test_sdk_reads_a_stream_with_usage(app):
    async with sdk(app, "tokens=5,tps=10000") as client:
        stream = await client.chat.completions.create(model="gpt-4", stream=True,
                                                      stream_options={"include_usage": True},
                                                      messages=[{"role": "user", "content": "stream please"}])
        chunks = [c async for c in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text.split()) == 5
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage.completion_tokens == 5 and chunks[-1].usage.prompt_tokens == 6


async def test_sdk_raises_its_own_errors(app):
    async with sdk(app, "error_rate=1,status=429") as client:
        try:
            await client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "x"}])
        except openai.RateLimitError as exc:
            assert exc.status_code == 429 and exc.response.headers["retry-after"] == "1"
        else:
            raise AssertionError("no RateLimitError")


WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}


async def test_sdk_reads_a_tool_call_plain_and_streamed(app):
    ask = {"model": "gpt-4", "tools": [WEATHER], "messages": [{"role": "user", "content": "rain in Oslo"}]}
    async with sdk(app, "tool=get_weather,tps=10000") as client:
        reply = await client.chat.completions.create(**ask)
        async with client.chat.completions.stream(**ask) as stream:
            streamed = await stream.get_final_completion()
    for answer in (reply, streamed):
        choice = answer.choices[0]
        assert choice.finish_reason == "tool_calls" and choice.message.content is None
        [call] = choice.message.tool_calls
        assert call.id.startswith("call_") and call.function.name == "get_weather"
        assert call.function.arguments == '{"query":"rain in Oslo"}'
    assert reply.usage.completion_tokens == 3  # '{"query":"rain', ' in', ' Oslo"}'
