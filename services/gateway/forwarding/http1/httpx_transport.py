"""The gateway's HTTP/1.1 client behind httpx's API, for its control-plane calls (snapshot
long-polls, receipt shipping, outcome reports): the callers keep httpx's interface and errors,
the bytes go through the same lean client as the hot path instead of httpcore. Measured under
load, httpx+httpcore posting receipts and outcomes took about 9 % of the gateway's CPU, most of
it in httpcore and anyio.

httpx's timeouts are honoured: `connect` for the connection, `read` for the status line and
then for each silence in the body; `write` and `pool` do not apply (a request is one write; a
wait for a connection, when an origin has all it may have, counts in the read timeout).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from services.gateway.forwarding.http1.errors import (
    BadRequestHead,
    ConnectFailed,
    ConnectTimeout,
    ReadTimeout,
    UpstreamHTTPError,
)
from services.gateway.forwarding.http1.head import target_of
from services.gateway.forwarding.http1.pool import ConnectionPool
from services.gateway.forwarding.http1.response import Response

NO_LIMIT_S = 365 * 24 * 3600.0


def _as_httpx(exc: UpstreamHTTPError, request: httpx.Request) -> httpx.HTTPError:
    kind: type[httpx.HTTPError]
    if isinstance(exc, ConnectTimeout):
        kind = httpx.ConnectTimeout
    elif isinstance(exc, ConnectFailed):
        kind = httpx.ConnectError
    elif isinstance(exc, ReadTimeout):
        kind = httpx.ReadTimeout
    elif isinstance(exc, BadRequestHead):
        kind = httpx.LocalProtocolError
    else:
        kind = httpx.RemoteProtocolError
    return kind(str(exc), request=request)  # type: ignore[call-arg]


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: Response, request: httpx.Request) -> None:
        self.response = response
        self.request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            while chunk := await self.response.readany():
                yield chunk
        except UpstreamHTTPError as exc:
            raise _as_httpx(exc, self.request) from exc

    async def aclose(self) -> None:
        self.response.close()  # a no-op once the body was read to its end (the connection is back in the pool)


class Http1Transport(httpx.AsyncBaseTransport):
    def __init__(self, pool: ConnectionPool | None = None) -> None:
        self.pool = pool or ConnectionPool()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout") or {}
        connect_s = timeouts.get("connect") or NO_LIMIT_S
        read_s = timeouts.get("read") or NO_LIMIT_S
        body = await request.aread()
        try:
            target = target_of(str(request.url))
            async with asyncio.timeout(read_s):
                response = await self.pool.request(request.method, target, dict(request.headers), body, connect_s)
        except UpstreamHTTPError as exc:  # ConnectTimeout included: it is a TimeoutError too
            raise _as_httpx(exc, request) from exc
        except TimeoutError as exc:  # the read timeout, waiting for the status line
            raise httpx.ReadTimeout(f"no answer within {read_s:g} s", request=request) from exc
        loop = asyncio.get_running_loop()
        response.watch(read_s, loop.time() + NO_LIMIT_S)
        return httpx.Response(response.status, headers=response.raw,
                              stream=_Body(response, request), extensions={"http_version": b"HTTP/1.1"})

    async def aclose(self) -> None:
        self.pool.close()
