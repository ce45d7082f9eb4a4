"""A cached chat.completion replays as OpenAI SSE chunks, and a stream assembles back into one."""

import orjson

from services.gateway.cache.sse import DONE, ChunkAssembler, pieces, replay

ANSWER = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "Four. It is two plus two."},
                       "logprobs": None, "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16}}
TOOLS = {"id": "chatcmpl-2", "object": "chat.completion", "created": 1, "model": "m",
         "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
             "role": "assistant", "content": None, "tool_calls": [
                 {"id": "call_1", "type": "function",
                  "function": {"name": "weather", "arguments": '{"city": "Paris", "unit": "celsius", "days": 3}'}}]}}]}


def events(raw):
    out = []
    for block in raw:
        assert block.startswith(b"data: ") and block.endswith(b"\n\n")
        out.append(block[6:-2])
    return out


def test_replay_is_role_then_content_then_finish_then_done():
    raw = list(replay(orjson.dumps(ANSWER)))
    assert raw[-1] == DONE
    chunks = [orjson.loads(e) for e in events(raw[:-1])]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == "chatcmpl-1" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "Four. It is two plus two."
    assert len(chunks) > 3  # more than one content chunk
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["choices"][0]["delta"] == {}
    assert all("usage" not in c for c in chunks)


def test_replay_adds_the_usage_chunk_only_when_asked():
    chunks = [orjson.loads(e) for e in events(list(replay(orjson.dumps(ANSWER), include_usage=True))[:-1])]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 16


def test_replayed_stream_assembles_back_into_the_same_answer():
    for answer in (ANSWER, TOOLS):
        asm = ChunkAssembler()
        for e in events(list(replay(orjson.dumps(answer), include_usage=True))[:-1]):
            asm.feed(orjson.loads(e))
        body = asm.body()
        assert body is not None
        got = orjson.loads(body)
        assert got["choices"][0]["message"].get("content") == answer["choices"][0]["message"]["content"]
        assert got["choices"][0]["finish_reason"] == answer["choices"][0]["finish_reason"]
        assert got["choices"][0]["message"].get("tool_calls") == answer["choices"][0]["message"].get("tool_calls")
        assert got.get("usage") == answer.get("usage") and got["object"] == "chat.completion"


def test_an_unfinished_stream_is_not_an_answer():
    asm = ChunkAssembler()
    asm.feed({"id": "x", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hal"}}]})
    assert asm.body() is None


def test_pieces_keep_every_character():
    text = "  leading space, two  spaces\nand a newline "
    assert "".join(pieces(text, 2)) == text and len(pieces(text, 2)) > 1
