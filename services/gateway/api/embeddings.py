"""POST /v1/embeddings: OpenAI's embeddings API, routed to providers that declare the
`embeddings` feature, with a receipt of the input tokens and their exact cost."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from services.common.http.body import read_json
from services.common.selection.request import Requirements
from services.gateway.api import headers as h
from services.gateway.auth.identify import credential
from services.gateway.call import Call
from services.gateway.pipeline import Pipeline


async def embeddings(request: Request) -> Response:
    pipeline: Pipeline = request.app.state.pipeline
    settings = pipeline.settings
    payload = await read_json(request, "embeddings_request")
    call = Call(
        request_id=h.request_id(request),
        run_id=h.run_id(request, settings.default_run_id),
        agent=h.agent(request, settings.default_agent),
        payload=payload,
        requirements=Requirements(model=payload["model"], features=frozenset({"embeddings"})),
        optimization=h.optimization(request, settings.default_optimization),
        credential=credential(request),
        client_ip=h.client_ip(request),
        kind="embeddings",
    )
    done = await pipeline.complete(call)
    return Response(done.body, status_code=done.status, media_type="application/json",
                    headers=h.answer_headers(done.receipt, done.admitted.verdict))
