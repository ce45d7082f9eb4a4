"""The hot path's HTTP client to providers: aiohttp (chosen by measurement; see DESIGN.md),
one pooled session per gateway process, every wait bounded."""

from __future__ import annotations

import aiohttp

from services.gateway.adapters.base import UpstreamRequest


class UpstreamClient:
    def __init__(self, connect_timeout_s: float, read_timeout_s: float) -> None:
        self.timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout_s,
                                             sock_connect=connect_timeout_s, sock_read=read_timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, ttl_dns_cache=300,
                                         keepalive_timeout=30)
        self._session = aiohttp.ClientSession(connector=connector, timeout=self.timeout,
                                              auto_decompress=True, skip_auto_headers=("User-Agent",))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def open(self, req: UpstreamRequest, timeout: aiohttp.ClientTimeout | None = None) -> aiohttp.ClientResponse:
        """Send the request; returns once the status and headers are in (body not read).
        `timeout` replaces the session's for this request (the provider's own timeouts)."""
        assert self._session is not None, "UpstreamClient.start() not called"
        if timeout is None:
            return await self._session.post(req.url, data=req.body, headers=req.headers)
        return await self._session.post(req.url, data=req.body, headers=req.headers, timeout=timeout)
