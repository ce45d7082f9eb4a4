"""`GET /metrics` in Prometheus text (or OpenMetrics, when the scraper asks for it).

Access: with an admin key set (TOLLWAY_ADMIN_KEY) the exposition needs it, as a bearer token
(Prometheus: `authorization: {credentials: <key>}` in the scrape config) or `X-Admin-Key`, unless
TOLLWAY_METRICS_OPEN is set; with no admin key it is open like every other endpoint. The figures
are the whole service's (every tenant's spend by provider and model), so a virtual key never reads
them.

The ledger's `/metrics` is also the card's JSON report (`?window=minute|hour|day`): `wants_text`
says which a request asks for.
"""

from __future__ import annotations

from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import Response

from services.common.http.admin import check_admin, presented_key
from services.common.metrics.service import ServiceMetrics
from services.common.settings import Settings


def metrics_of(request: Request) -> ServiceMetrics:
    found: ServiceMetrics = request.app.state.metrics
    return found


def wants_text(request: Request) -> bool:
    """No `window` and no preference for JSON: Prometheus text. (Before the exposition existed the
    ledger answered a bare `GET /metrics` with the minute window's JSON; a client that asks for
    `application/json` still gets that.)"""
    if "window" in request.query_params:
        return False
    accept = request.headers.get("accept", "")
    return "application/json" not in accept or "text/plain" in accept or "openmetrics" in accept


async def prometheus_response(request: Request, settings: Settings) -> Response:
    admin_key = settings.admin_key.get_secret_value()
    if admin_key and not settings.metrics_open:
        check_admin(presented_key(request.scope["headers"]), admin_key)
    metrics = metrics_of(request)
    await metrics.refresh()
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(metrics.registry), media_type=None, headers={"content-type": content_type})
