"""POST /v1/embeddings: OpenAI's embeddings API, routed to providers that declare the
`embeddings` feature, with a receipt of the input tokens and their exact cost."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from services.common.http.body import read_json
from services.common.http.responses import JSONBytesResponse
from services.common.selection.request import Requirements
from services.gateway.adapters.embeddings import as_asked
from services.gateway.api import headers as h
from services.gateway.api.calls import call_from
from services.gateway.pipeline import Completed, Pipeline


async def embeddings(request: Request) -> Response:
    pipeline: Pipeline = request.app.state.pipeline
    payload = await read_json(request, "embeddings_request")
    requirements = Requirements(model=payload["model"], features=frozenset({"embeddings"}))
    call = call_from(request, pipeline.settings, payload, requirements, kind="embeddings")
    done = await pipeline.complete(call)
    return JSONBytesResponse(_body(done), done.status, h.answer_raw_headers(done.receipt, done.admitted.verdict))


def _body(done: Completed) -> bytes:
    """The adapter's OpenAI answer, finished with what depends on the request: the encoding asked
    for, and the receipt's estimated input tokens as usage when the provider reported none."""
    if done.parsed is None:
        return done.body
    receipt = done.receipt
    finished = as_asked(done.parsed.data, done.admitted.call.payload, model=receipt["model"],
                        input_tokens=receipt["input_tokens"] if receipt["usage_estimated"] else None)
    return done.body if finished is None else orjson.dumps(finished)
