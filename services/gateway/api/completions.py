"""POST /v1/completions: OpenAI's legacy completions API (the SDK's `completions.create`), served by
translation to chat. The prompt becomes one user message, the request is routed and metered like
any chat request (one receipt), and the chat answer comes back in the completions shape
(`text_completion`, `choices[].text`), streamed too. As at OpenAI, `max_tokens` defaults to 16.

What a chat model cannot do is refused with a 400 naming the parameter, never ignored: several
prompts in one request, token-id prompts, `suffix`, `echo`, `logprobs`, `best_of`."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from services.common.errors import InvalidRequest
from services.common.http.body import read_object
from services.common.http.responses import JSONBytesResponse
from services.common.selection.request import Requirements
from services.gateway.api import headers as h
from services.gateway.api.calls import call_from
from services.gateway.api.event_stream import EventStream
from services.gateway.cache import replay
from services.gateway.pipeline import Pipeline
from services.gateway.streaming import relay

JSON = "application/json"
DEFAULT_MAX_TOKENS = 16  # OpenAI's default for /v1/completions
PASSED = ("temperature", "top_p", "n", "stop", "presence_penalty", "frequency_penalty", "logit_bias", "user",
          "seed", "stream", "stream_options", "max_tokens")
REFUSED = {"suffix": None, "echo": False, "logprobs": None, "best_of": 1}  # parameter: its harmless value


def _prompt(body: dict[str, Any]) -> str:
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise InvalidRequest("prompt must be one string (several prompts, or token ids, are not served: the "
                             "gateway serves completions through chat models)", field="prompt")
    return prompt


def to_chat(body: dict[str, Any]) -> dict[str, Any]:
    """A completions request as the chat request the pipeline routes."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model is required: one of GET /v1/models", field="model")
    for name, harmless in REFUSED.items():
        if body.get(name) not in (harmless, None):
            raise InvalidRequest(f"{name} is not supported: the gateway serves /v1/completions through chat models",
                                 field=name)
    payload: dict[str, Any] = {k: body[k] for k in PASSED if body.get(k) is not None}
    payload["model"] = model
    payload["messages"] = [{"role": "user", "content": _prompt(body)}]
    payload.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
    return payload


def _choices(completion: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for i, choice in enumerate(completion.get("choices") or []):
        message = choice.get("message") or {}
        out.append({"text": message.get("content") or "", "index": choice.get("index", i), "logprobs": None,
                    "finish_reason": choice.get("finish_reason")})
    return out


def to_completion(chat: dict[str, Any]) -> dict[str, Any]:
    """A chat.completion as a text_completion."""
    answer = {"id": "cmpl-" + str(chat.get("id") or "").removeprefix("chatcmpl-"), "object": "text_completion",
              "created": chat.get("created") or int(time.time()), "model": chat.get("model"),
              "choices": _choices(chat)}
    if chat.get("usage") is not None:
        answer["usage"] = chat["usage"]
    if chat.get("system_fingerprint"):
        answer["system_fingerprint"] = chat["system_fingerprint"]
    return answer


def _chunk(chunk: dict[str, Any]) -> dict[str, Any]:
    """A chat.completion.chunk as a text_completion chunk."""
    choices = [{"text": (c.get("delta") or {}).get("content") or "", "index": c.get("index", 0), "logprobs": None,
                "finish_reason": c.get("finish_reason")} for c in chunk.get("choices") or []]
    out = {"id": "cmpl-" + str(chunk.get("id") or "").removeprefix("chatcmpl-"), "object": "text_completion",
           "created": chunk.get("created") or int(time.time()), "model": chunk.get("model"), "choices": choices}
    if chunk.get("usage") is not None:
        out["usage"] = chunk["usage"]
    return out


def _event(raw: bytes) -> bytes:
    """One SSE event of the chat stream as the completions stream's: `[DONE]` and errors as they are."""
    out = []
    for line in raw.split(b"\n"):
        data = line[5:].strip() if line.startswith(b"data:") else None
        if not data or data == b"[DONE]":
            out.append(line)
            continue
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            out.append(line)
            continue
        if not isinstance(chunk, dict) or "error" in chunk:
            out.append(line)
        else:
            out.append(b"data: " + orjson.dumps(_chunk(chunk)))
    return b"\n".join(out)


async def completion_events(events: AsyncGenerator[bytes, None]) -> AsyncIterator[bytes]:
    """Translate the relay's events as they come; closing this closes the relay at once."""
    async with aclosing(events):
        async for raw in events:
            yield _event(raw)


async def completions(request: Request) -> Response:
    pipeline: Pipeline = request.app.state.pipeline
    body = await read_object(request)
    payload = to_chat(body)
    call = call_from(request, pipeline.settings, payload, Requirements(model=payload["model"]),
                     stream=bool(payload.get("stream")))
    if not call.stream:
        done = await pipeline.complete(call)
        answer = done.body
        if done.status == 200:
            answer = orjson.dumps(to_completion(orjson.loads(done.body)))
        return JSONBytesResponse(answer, done.status, h.answer_raw_headers(done.receipt, done.admitted.verdict))
    admitted = await pipeline.admit(call)
    if admitted.hit is not None:  # the cached answer, replayed as a stream
        done = pipeline.answer_from_cache(admitted)
        events = list(replay(admitted.hit.body, include_usage=call.client_wants_usage))
        return EventStream([_event(e) for e in events], h.answer_headers(done.receipt, admitted.verdict))
    answer = await pipeline.open_stream(admitted)  # a 4xx the caller caused raises: no stream
    return EventStream(completion_events(relay(pipeline, admitted, answer)),
                       h.stream_headers(answer.provider.name, admitted), settlement=admitted.settlement)
