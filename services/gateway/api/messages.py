"""POST /v1/messages: Anthropic's Messages API, so the `anthropic` SDK can use the gateway. The
request is translated to the OpenAI chat format, routed to any provider like every other call,
and the answer (whole or streamed) translated back; errors come in Anthropic's error shape.

POST /v1/messages/count_tokens (the SDK's `messages.count_tokens`) answers `{"input_tokens": N}`:
the count of the provider routing chooses when it speaks Anthropic's format, else (or when that
count fails) the gateway's own estimate of the translated request (about 4 bytes a token plus a
few per message, services/common/selection/estimate.py); the `x-tollway-token-count` header says
which (services/gateway/clients/anthropic_count.py). Nothing is charged. The key and the model
are checked as for a message (an unknown model is Anthropic's 404)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from services.common import contracts
from services.common.errors import TollwayError
from services.common.http.body import read_json, read_object
from services.common.http.responses import JSONBytesResponse
from services.common.selection.estimate import typical_input_tokens
from services.common.selection.request import Requirements
from services.common.selection.smart import VIRTUAL_MODELS
from services.gateway.adapters.registry import adapter_for
from services.gateway.api import headers as h
from services.gateway.api.calls import call_from
from services.gateway.api.event_stream import EventStream
from services.gateway.auth.identify import Identity
from services.gateway.cache import replay
from services.gateway.call import Call
from services.gateway.clients.anthropic_answer import error_of, to_message
from services.gateway.clients.anthropic_count import COUNT_TIMEOUT_S, TokenCount, counted
from services.gateway.clients.anthropic_request import to_openai
from services.gateway.clients.anthropic_stream import anthropic_events
from services.gateway.forwarding.fallback import api_key
from services.gateway.pipeline import Pipeline
from services.gateway.routing import unserved
from services.gateway.streaming import relay

JSON = "application/json"


async def messages(request: Request) -> Response:
    try:
        return await _messages(request)
    except TollwayError as exc:
        return Response(error_of(exc), status_code=exc.status, media_type=JSON, headers=exc.headers)


async def count_tokens(request: Request) -> Response:
    try:
        return await _count_tokens(request)
    except TollwayError as exc:
        return Response(error_of(exc), status_code=exc.status, media_type=JSON, headers=exc.headers)


async def _count_tokens(request: Request) -> Response:
    pipeline: Pipeline = request.app.state.pipeline
    body = await read_object(request)
    body.pop("stream", None)
    contracts.validate("messages_request", {**body, "max_tokens": body.get("max_tokens") or 1})
    payload = to_openai({**body, "max_tokens": 1})
    model = body["model"]
    call = call_from(request, pipeline.settings, payload, Requirements(model=model))
    identity = pipeline.authenticate(call)
    view = pipeline.registry.value
    if model not in view.by_model and model not in VIRTUAL_MODELS:
        unserved(view, model)
    count = await _count(pipeline, call, payload, identity)
    return Response(orjson.dumps({"input_tokens": count.input_tokens}), media_type=JSON, headers=count.headers())


async def _count(pipeline: Pipeline, call: Call, payload: dict[str, Any], identity: Identity | None) -> TokenCount:
    """The chosen provider's count, or the estimate (no provider fits, it cannot count, it failed)."""
    estimate = typical_input_tokens(payload)
    try:
        provider = pipeline.decide(call, identity).provider
    except TollwayError:  # e.g. larger than every window: the estimate still says how large
        return TokenCount(estimate, "estimate")
    finally:
        pipeline.routing.in_flight.finish(call.request_id)  # a count is not a request in flight
    key, problem = api_key(provider, pipeline.forwarder.keys)
    if problem:
        return TokenCount(estimate, "estimate", provider.name, f"{provider.name}: {problem}")
    return await counted(pipeline.upstream, provider, adapter_for(provider.api_format), payload, key, estimate,
                         min(pipeline.settings.upstream_read_timeout_s, COUNT_TIMEOUT_S))


async def _messages(request: Request) -> Response:
    pipeline: Pipeline = request.app.state.pipeline
    body = await read_json(request, "messages_request")
    payload = to_openai(body)
    model = body["model"]
    call = call_from(request, pipeline.settings, payload, Requirements(model=model), stream=bool(payload.get("stream")))
    if not call.stream:
        done = await pipeline.complete(call)
        message = to_message(orjson.loads(done.body), model)
        return JSONBytesResponse(orjson.dumps(message), 200, h.answer_raw_headers(done.receipt, done.admitted.verdict))
    admitted = await pipeline.admit(call)
    if admitted.hit is not None:  # the cached answer, replayed as a stream
        done = pipeline.answer_from_cache(admitted)
        events = anthropic_events(_each(replay(admitted.hit.body, include_usage=True)), model)
        return EventStream(events, h.answer_headers(done.receipt, admitted.verdict))
    answer = await pipeline.open_stream(admitted)  # a 4xx the caller caused raises: no stream
    return EventStream(anthropic_events(relay(pipeline, admitted, answer), model),
                       h.stream_headers(answer.provider.name, admitted), settlement=admitted.settlement)


async def _each(events: Iterable[bytes]) -> AsyncGenerator[bytes, None]:
    for event in events:
        yield event
