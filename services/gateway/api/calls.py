"""A client request as a `Call`, the one way for every client API (`/v1/*`, `/route`): the ids,
run, agent, strategy, credential and client address from its headers (or, on `/route`, from its
body), each id checked by the one safe-id rule before anything is sent upstream.

The receipt's `request_id` is always the gateway's own: a new id when the caller names one (kept
as `client_request_id` and echoed in `X-Request-ID`), else the id the gateway already gave the
request. So a caller's id reused — after a restart, on another replica — never makes the ledger
drop a second, real spend as a duplicate.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from services.common.ids import new_request_id, require_safe_id
from services.common.selection.request import Requirements
from services.common.settings import Settings
from services.gateway.api import headers as h
from services.gateway.call import Call


def call_from(request: Request, settings: Settings, payload: dict[str, Any], requirements: Requirements, *,
              request_id: str | None = None, run_id: str | None = None, agent: str | None = None,
              optimization: str | None = None, fields_from: str = "", **fields: Any) -> Call:
    """`request_id`, `run_id`, `agent`, `optimization`: given in a body (`/route`), they win over
    the headers; `fields_from` is the prefix that names them in errors ("" for headers). `fields`
    are the rest of Call's (stream, kind ...)."""
    headers = h.ClientHeaders.of(request)
    if request_id is not None:
        client_id: str | None = require_safe_id(request_id, f"{fields_from}request_id")
    else:
        client_id = headers.request_id
    own_id = new_request_id() if client_id is not None else h.request_id(request)
    return Call(
        request_id=own_id,
        client_request_id=client_id,
        run_id=require_safe_id(run_id, f"{fields_from}run_id") if run_id is not None
        else headers.run_id(settings.default_run_id),
        agent=h.agent_name(agent, f"{fields_from}agent") if agent is not None
        else headers.agent_name(settings.default_agent),
        payload=payload,
        requirements=requirements,
        optimization=h.strategy(optimization, f"{fields_from}optimization") if optimization is not None
        else headers.strategy(),
        credential=headers.credential,
        client_ip=h.client_ip(request),
        cache_headers=headers.cache,
        trace=request.scope.get("state", {}).get("trace"),  # services/common/http/middleware.py
        **fields,
    )
