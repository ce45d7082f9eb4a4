"""GET /admin/breakers: every provider's circuit breaker in this gateway process (state, why,
consecutive failures, the failure-rate window, when the next probe is due)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from services.common.http.responses import JSONResponse
from services.gateway.pipeline import Pipeline


async def list_breakers(request: Request) -> Response:
    pipeline: Pipeline = request.app.state.pipeline
    breakers = pipeline.forwarder.breakers
    config = breakers.config
    return JSONResponse({
        "config": {"failures": config.failures, "failure_rate": config.failure_rate, "window_s": config.window_s,
                   "min_calls": config.min_calls, "cooldown_s": config.cooldown_s},
        "breakers": breakers.to_json(),
    })
