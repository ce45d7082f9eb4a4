"""POST /v1/messages: Anthropic's Messages API, so the `anthropic` SDK can use the gateway. The
request is translated to the OpenAI chat format, routed to any provider like every other call,
and the answer (whole or streamed) translated back; errors come in Anthropic's error shape."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable

import orjson
from starlette.requests import Request
from starlette.responses import Response

from services.common.errors import TollwayError
from services.common.http.body import read_json
from services.common.selection.request import Requirements
from services.gateway.api import headers as h
from services.gateway.api.calls import call_from
from services.gateway.api.event_stream import EventStream
from services.gateway.cache import replay
from services.gateway.clients.anthropic_answer import error_of, to_message
from services.gateway.clients.anthropic_request import to_openai
from services.gateway.clients.anthropic_stream import anthropic_events
from services.gateway.pipeline import Pipeline
from services.gateway.streaming import relay

JSON = "application/json"


async def messages(request: Request) -> Response:
    try:
        return await _messages(request)
    except TollwayError as exc:
        return Response(error_of(exc), status_code=exc.status, media_type=JSON, headers=exc.headers)


async def _messages(request: Request) -> Response:
    pipeline: Pipeline = request.app.state.pipeline
    body = await read_json(request, "messages_request")
    payload = to_openai(body)
    model = body["model"]
    call = call_from(request, pipeline.settings, payload, Requirements(model=model), stream=bool(payload.get("stream")))
    if not call.stream:
        done = await pipeline.complete(call)
        message = to_message(orjson.loads(done.body), model)
        return Response(orjson.dumps(message), media_type=JSON,
                        headers=h.answer_headers(done.receipt, done.admitted.verdict))
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
