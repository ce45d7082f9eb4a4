"""The hot path's HTTP client to providers: the gateway's own HTTP/1.1 client (`http1/`, chosen
by measurement; see DESIGN.md), one pool of keep-alive connections per gateway process, every
wait bounded by the caller."""

from __future__ import annotations

import ssl

from services.gateway.adapters.base import UpstreamRequest
from services.gateway.forwarding.http1 import ConnectionPool, Response, target_of


class UpstreamClient:
    def __init__(self, connect_timeout_s: float, *, keepalive_s: float = 30.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.connect_timeout_s = connect_timeout_s
        self.pool = ConnectionPool(keepalive_s=keepalive_s, ssl_context=ssl_context)

    async def start(self) -> None:
        """Nothing to set up: connections are made on first use."""

    async def close(self) -> None:
        self.pool.close()

    async def open(self, req: UpstreamRequest, connect_timeout_s: float | None = None) -> Response:
        """POST the request; returns once the status and headers are in (body not read).
        The caller bounds the wait for the answer; this bounds the connect."""
        return await self.pool.request("POST", target_of(req.url), req.headers, req.body,
                                       self.connect_timeout_s if connect_timeout_s is None else connect_timeout_s)
