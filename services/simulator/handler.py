"""The request flow every format shares: spec, body, hang, latency, error draw (or one of the
first `fail_first` calls, or the credentials echoed back with `echo_key`), then the reply (whole,
streamed, dropped or stalled half-way), rendered by the format's module. Embeddings (OpenAI's and
Gemini's formats) share the faults."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from types import ModuleType
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from services.common import jsonio
from services.common.errors import InvalidRequest
from services.simulator import embeddings, tokens
from services.simulator.faults import wait_for_disconnect
from services.simulator.formats import anthropic, gemini, openai
from services.simulator.reply import plan
from services.simulator.spec import Spec, SpecError
from services.simulator.state import SimState
from services.simulator.streaming import PacedStream, TruncatedBody


def error_response(fmt: ModuleType, status: int, message: str, *, param: str | None = None,
                   code: str | None = None, retry_after: int = 1) -> Response:
    headers = {"retry-after": str(retry_after)} if status == 429 else None
    return Response(fmt.error(status, message, param=param, code=code), status_code=status,
                    media_type=fmt.MEDIA_TYPE, headers=headers)


async def chat(request: Request, fmt: ModuleType, *, model: str | None = None,
               stream: bool | None = None) -> Response:
    """`model` and `stream` where the format puts them in the URL (Gemini, Azure), not the body."""
    state: SimState = request.app.state.sim
    try:
        spec = state.spec(request.path_params.get("spec"))
    except SpecError as exc:
        return error_response(fmt, 400, exc.message, param=exc.field, code="invalid_sim_spec")
    try:
        call = fmt.parse_request(await _json_object(request))
    except InvalidRequest as exc:
        return error_response(fmt, 400, exc.message, param=exc.field)
    if model is not None or stream is not None:
        call = replace(call, model=model or call.model, stream=call.stream if stream is None else stream)
    failure = await _faults(request, fmt, state, spec)
    if failure is not None:
        return failure
    reply = plan(call, spec.tokens, spec.tool, cache_read=spec.cache_read, cache_write=spec.cache_write,
                 cache_write_1h=spec.cache_write_1h)
    if call.stream:
        return PacedStream(fmt.stream_events(reply, call.include_usage), tps=spec.tps, drop=spec.drop,
                           stall=spec.stall, media_type=fmt.STREAM_MEDIA_TYPE)
    content = fmt.completion(reply)
    if spec.drop:
        return TruncatedBody(content, fmt.MEDIA_TYPE)
    return Response(content, media_type=fmt.MEDIA_TYPE)


async def count_tokens(request: Request) -> Response:
    """Anthropic's `/v1/messages/count_tokens`: `{"input_tokens": N}`, N the prompt tokens a message
    with this body would report (services/simulator/tokens.py; `max_tokens` is not asked for). The
    spec's faults apply, so a test can make the count fail."""
    state: SimState = request.app.state.sim
    try:
        spec = state.spec(request.path_params.get("spec"))
        body = await _json_object(request)
        call = anthropic.parse_request({**body, "max_tokens": 1})
    except SpecError as exc:
        return error_response(anthropic, 400, exc.message, param=exc.field, code="invalid_sim_spec")
    except InvalidRequest as exc:
        return error_response(anthropic, 400, exc.message, param=exc.field)
    failure = await _faults(request, anthropic, state, spec)
    if failure is not None:
        return failure
    return Response(jsonio.dumps({"input_tokens": tokens.prompt_tokens(call.texts)}), media_type=anthropic.MEDIA_TYPE)


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    body = jsonio.loads(raw) if raw.strip() else None
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object")
    return body


ECHOED_HEADERS = ("authorization", "x-api-key", "api-key", "x-goog-api-key")


def credentials_echo(request: Request) -> str:
    """What a careless provider answers to a key it refuses: every credential header (and `?key=`)
    quoted whole, then the key's first 16 and last 12 characters."""
    sent = [(f"{name}: ", request.headers[name]) for name in ECHOED_HEADERS if name in request.headers]
    if "key" in request.query_params:
        sent.append(("key=", request.query_params["key"]))
    if not sent:
        return "no credentials were sent"
    value = sent[0][1].removeprefix("Bearer ")
    quoted = "; ".join(label + v for label, v in sent)
    return f"invalid credentials ({quoted}): the key starting {value[:16]} and ending {value[-12:]} is not valid"


async def _faults(request: Request, fmt: ModuleType, state: SimState, spec: Spec) -> Response | None:
    """The spec's hang, latency and injected error (or credentials echo), in that order; None when
    the call goes on."""
    key = request.path_params.get("spec")
    number = state.count(key)
    if spec.echo_key:
        return error_response(fmt, spec.echo_key, credentials_echo(request))
    if spec.hang:
        await wait_for_disconnect(request)
        return error_response(fmt, 504, "simulated hang ended")
    if spec.latency_ms > 0:
        await asyncio.sleep(spec.latency_ms / 1000)
    if number <= spec.fail_first or state.dice.fails(spec.error_rate, spec.seed, key=key):
        return error_response(fmt, spec.status, f"simulated error {spec.status}", retry_after=spec.retry_after)
    return None


async def embed(request: Request, *, model: str | None = None) -> Response:
    """OpenAI's `/v1/embeddings` (and Azure's deployment form, `model` from the URL)."""
    def answer(body: dict[str, Any]) -> bytes:
        return embeddings.answer(model or str(body.get("model") or "sim-embed"), embeddings.parse_request(body),
                                 body.get("dimensions"))
    return await _embed(request, openai, answer)


async def embed_gemini(request: Request) -> Response:
    """Gemini's `models/{model}:batchEmbedContents`."""
    model = request.path_params["model"]
    return await _embed(request, gemini, lambda body: embeddings.gemini_answer(model, body))


async def _embed(request: Request, fmt: ModuleType, answer: Callable[[dict[str, Any]], bytes]) -> Response:
    """The embeddings flow of every format: spec, body (a 400 in `fmt`'s shape), faults, the answer
    (cut half-way with `drop`)."""
    state: SimState = request.app.state.sim
    try:
        spec = state.spec(request.path_params.get("spec"))
        content = answer(await _json_object(request))
    except InvalidRequest as exc:
        return error_response(fmt, 400, exc.message, param=exc.field)
    failure = await _faults(request, fmt, state, spec)
    if failure is not None:
        return failure
    if spec.drop:
        return TruncatedBody(content, fmt.MEDIA_TYPE)
    return Response(content, media_type=fmt.MEDIA_TYPE)


async def models(request: Request, fmt: ModuleType) -> Response:
    state: SimState = request.app.state.sim
    try:
        state.spec(request.path_params.get("spec"))
    except SpecError as exc:
        return error_response(fmt, 400, exc.message, param=exc.field, code="invalid_sim_spec")
    state.probes[request.path_params.get("spec") or ""] += 1
    return Response(fmt.models(state.models, state.started), media_type=fmt.MEDIA_TYPE)
