"""The OpenAI-compatible client API: POST /v1/chat/completions (plain and SSE), GET /v1/models."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from services.common.errors import InvalidRequest
from services.common.http.body import read_json
from services.common.http.responses import JSONResponse
from services.common.selection.request import Requirements
from services.gateway.api import headers as h
from services.gateway.api.calls import call_from
from services.gateway.api.event_stream import EventStream
from services.gateway.cache import replay
from services.gateway.pipeline import Pipeline
from services.gateway.streaming import relay


async def chat_completions(request: Request) -> Response:
    pipeline: Pipeline = request.app.state.pipeline
    settings = pipeline.settings
    payload = await read_json(request, "chat_request")
    model = payload.get("model")
    if not model:
        raise InvalidRequest("model is required: one of GET /v1/models", field="model")
    call = call_from(request, settings, payload, Requirements(model=model), stream=bool(payload.get("stream")))
    if not call.stream:
        done = await pipeline.complete(call)
        return Response(done.body, status_code=done.status,
                        media_type="application/json", headers=h.answer_headers(done.receipt, done.admitted.verdict))
    admitted = await pipeline.admit(call)
    if admitted.hit is not None:  # the cached answer, replayed as a stream
        done = pipeline.answer_from_cache(admitted)
        events = list(replay(admitted.hit.body, include_usage=call.client_wants_usage))
        return EventStream(events, h.answer_headers(done.receipt, admitted.verdict))
    answer = await pipeline.open_stream(admitted)  # a 4xx the caller caused raises: no stream
    return EventStream(relay(pipeline, admitted, answer), h.stream_headers(answer.provider.name, admitted),
                       settlement=admitted.settlement)


async def list_models(request: Request) -> Response:
    pipeline: Pipeline = request.app.state.pipeline
    view = pipeline.registry.value
    data = [
        {"id": model, "object": "model", "created": 0, "owned_by": "tollway",
         "providers": sorted(p.name for p in providers)}
        for model, providers in sorted(view.by_model.items())
    ]
    for alias, models in sorted(view.routing.aliases.items()):  # aliases of the routing config
        served = sorted(p.name for m in models for p in view.by_model.get(m, ()))
        if served and alias not in view.by_model:
            data.append({"id": alias, "object": "model", "created": 0, "owned_by": "tollway",
                         "providers": served, "alias_of": list(models)})
    return JSONResponse({"object": "list", "data": data})
