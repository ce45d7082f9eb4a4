"""The hot path's HTTP client to providers: the gateway's own HTTP/1.1 client (`http1/`, chosen
by measurement: `scripts/bench/upstream_ab.py`, figures in the README), one pool of keep-alive
connections per gateway process, every wait bounded by the caller. Idle connections are retired
after `upstream_keepalive_s`, at most `upstream_max_connections_per_origin` are open to one
provider, and HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured."""

from __future__ import annotations

import ssl
from typing import cast

from services.common.settings import Settings
from services.gateway.adapters.base import UpstreamRequest
from services.gateway.forwarding.http1 import ConnectionPool, Response, target_of


class UpstreamClient:
    def __init__(self, connect_timeout_s: float, *, keepalive_s: float | None = None,
                 max_connections_per_origin: int | None = None, ssl_context: ssl.SSLContext | None = None,
                 settings: Settings | None = None) -> None:
        """`keepalive_s` and `max_connections_per_origin` default to the settings' (read from the
        environment when none are given)."""
        if keepalive_s is None or max_connections_per_origin is None:
            settings = settings or Settings()
            keepalive_s = settings.upstream_keepalive_s if keepalive_s is None else keepalive_s
            if max_connections_per_origin is None:
                max_connections_per_origin = settings.upstream_max_connections_per_origin
        self.connect_timeout_s = connect_timeout_s
        self.pool = ConnectionPool(keepalive_s=keepalive_s, max_connections_per_origin=max_connections_per_origin,
                                   ssl_context=ssl_context, trust_env=True)

    async def start(self) -> None:
        """Nothing to set up: connections are made on first use."""

    async def close(self) -> None:
        self.pool.close()

    async def open(self, req: UpstreamRequest, connect_timeout_s: float | None = None) -> Response:
        """POST the request; returns once the status and headers are in (body not read).
        The caller bounds the wait for the answer (and for a connection, when the provider has all
        it may have); this bounds the connect."""
        return await self.pool.request("POST", target_of(req.url), req.headers, req.body,
                                       self.connect_timeout_s if connect_timeout_s is None else connect_timeout_s)


def make_upstream(settings: Settings) -> UpstreamClient:
    """The client `upstream_client` names: the gateway's own (`http1`) or aiohttp's. The aiohttp one
    has this class's surface and answers with `http1.Response`'s (held to it by
    tests/integration/gateway/test_upstream_contract.py), so the forwarder and the relay take it
    as one of these."""
    if settings.upstream_client == "aiohttp":
        from services.gateway.forwarding.aiohttp_upstream import AiohttpUpstream

        return cast(UpstreamClient, AiohttpUpstream(settings.upstream_connect_timeout_s,
                                                    keepalive_s=settings.upstream_keepalive_s))
    return UpstreamClient(settings.upstream_connect_timeout_s, settings=settings)
