"""POST /route: the Tollway contract. Answers with the provider's answer, the routing decision
and the receipt in one body."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from services.common.errors import InvalidRequest
from services.common.http.body import read_json
from services.common.http.responses import JSONResponse
from services.common.selection.request import Requirements
from services.gateway.api import headers as h
from services.gateway.api.calls import call_from
from services.gateway.pipeline import Pipeline


async def route(request: Request) -> Response:
    pipeline: Pipeline = request.app.state.pipeline
    settings = pipeline.settings
    body = await read_json(request, "routing_request")
    payload = body["payload"]
    if payload.get("stream"):
        raise InvalidRequest("POST /route answers in one body; for streaming use "
                             "POST /v1/chat/completions with \"stream\": true", field="payload.stream")
    requirements = Requirements.from_json(body.get("requirements"))
    if requirements.model is None and payload.get("model"):
        requirements = Requirements.from_json({**(body.get("requirements") or {}), "model": payload["model"]})
    call = call_from(request, settings, payload, requirements, request_id=body.get("request_id"),
                     run_id=body.get("run_id"), agent=body.get("agent"), optimization=body.get("optimization"))
    done = await pipeline.complete(call)
    if done.parsed:  # the adapter's OpenAI translation of the provider's answer (or the cached one)
        response: object = orjson.Fragment(done.parsed.body)
    else:
        response = _as_json(done.body or b"null")
    decision = done.admitted.decision
    return JSONResponse(
        {"request_id": call.request_id, "client_request_id": call.client_request_id, "response": response,
         "decision": decision.to_json() if decision is not None else None, "receipt": done.receipt},
        status_code=done.status, headers=h.answer_headers(done.receipt, done.admitted.verdict))


def _as_json(raw: bytes) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")
