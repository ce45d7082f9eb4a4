"""The OpenAI-compatible client API: POST /v1/chat/completions (plain and SSE), GET /v1/models and
GET /v1/models/{id} (the OpenAI SDK's models.retrieve; an alias too; an unknown id is OpenAI's 404
`model_not_found`, naming the models that exist)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from services.common.errors import InvalidRequest
from services.common.http.body import read_json
from services.common.http.responses import JSONBytesResponse, JSONResponse
from services.common.selection.refusal import unknown_model
from services.common.selection.request import Requirements
from services.gateway.api import headers as h
from services.gateway.api.calls import call_from
from services.gateway.api.event_stream import EventStream
from services.gateway.cache import replay
from services.gateway.pipeline import Pipeline
from services.gateway.registry_view import RegistryView
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
        return JSONBytesResponse(done.body, done.status, h.answer_raw_headers(done.receipt, done.admitted.verdict))
    admitted = await pipeline.admit(call)
    if admitted.hit is not None:  # the cached answer, replayed as a stream
        done = pipeline.answer_from_cache(admitted)
        events = list(replay(admitted.hit.body, include_usage=call.client_wants_usage))
        return EventStream(events, h.answer_headers(done.receipt, admitted.verdict))
    answer = await pipeline.open_stream(admitted)  # a 4xx the caller caused raises: no stream
    return EventStream(relay(pipeline, admitted, answer), h.stream_headers(answer.provider.name, admitted),
                       settlement=admitted.settlement)


def _models(view: RegistryView) -> list[dict[str, Any]]:
    """Every model a provider serves, then every alias of the routing config with a served model."""
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
    return data


async def list_models(request: Request) -> Response:
    pipeline: Pipeline = request.app.state.pipeline
    return JSONResponse({"object": "list", "data": _models(pipeline.registry.value)})


async def retrieve_model(request: Request) -> Response:
    pipeline: Pipeline = request.app.state.pipeline
    view = pipeline.registry.value
    model = request.path_params["model"]
    for entry in _models(view):
        if entry["id"] == model:
            return JSONResponse(entry)
    raise unknown_model(model, view.by_model, view.routing.aliases)
