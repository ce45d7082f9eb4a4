"""A client request as a `Call`: the request id, run, agent, strategy, credential and client
address from its headers, whichever client API it came through."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from services.common.selection.request import Requirements
from services.common.settings import Settings
from services.gateway.api import headers as h
from services.gateway.call import Call


def call_from(request: Request, settings: Settings, payload: dict[str, Any], requirements: Requirements,
              **fields: Any) -> Call:
    """`fields` are the rest of Call's (stream, kind ...)."""
    headers = h.ClientHeaders.of(request)
    return Call(
        request_id=h.request_id(request),
        run_id=headers.run_id(settings.default_run_id),
        agent=headers.agent_name(settings.default_agent),
        payload=payload,
        requirements=requirements,
        optimization=headers.strategy(settings.default_optimization),
        credential=headers.credential,
        client_ip=h.client_ip(request),
        cache_headers=headers.cache,
        **fields,
    )
