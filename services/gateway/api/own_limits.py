"""GET /v1/limits: a caller's own rate limits and where it stands in each, charging nothing.

The caller is who its key says (the same `Authorization: Bearer` or `x-api-key` as a chat call):
a virtual key sees the limits that apply to it (its own, and its user's, team's, org's, IP's and
the global ones) and never another key's. Without a key: 401 when the gateway requires keys,
else the limits an anonymous caller from this address meets. A revoked or expired key is a 401.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from services.common.clock import to_us
from services.common.http.responses import JSONResponse
from services.gateway.api import headers as h
from services.gateway.api.admin_limits import standings
from services.gateway.auth.identify import identify
from services.gateway.limits.resolve import Subject
from services.gateway.pipeline import Pipeline


async def own_limits(request: Request) -> Response:
    pipeline: Pipeline = request.app.state.pipeline
    identity = identify(h.ClientHeaders.of(request).credential, pipeline.keys.value, admin_key=pipeline.admin_key,
                        require_keys=pipeline.settings.require_keys, now_us=to_us(pipeline.clock.now()))
    key = identity.key if identity else None
    # as the pipeline's rate_limit step sees this caller
    subject = Subject(key=key.key_id if key else None, user=key.user if key else None,
                      team=key.team if key else None, org=key.org if key else None, ip=h.client_ip(request))
    limits = await standings(pipeline, subject, key.specs if key else ())
    return JSONResponse({"key_id": subject.key, "user": subject.user, "team": subject.team, "org": subject.org,
                         "limits": limits})
