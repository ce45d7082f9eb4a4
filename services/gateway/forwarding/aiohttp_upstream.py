"""The hot path's HTTP client to providers on aiohttp, behind the same surface as `UpstreamClient`
(`start`, `close`, `open`, the `/health` counters under `.pool`) and answering with the same
surface as `http1.Response`, raising the same errors (`http1/errors.py`), so the forwarder and the
stream relay run unchanged on either. Chosen with `TOLLWAY_UPSTREAM_CLIENT=aiohttp`; measured
against the gateway's own client by `scripts/bench/upstream_ab.py`, and held to the same contract
by tests/integration/gateway/test_upstream_contract.py.

As the gateway's own client does: the request is the caller's headers with the gateway's own
(Host, Content-Length, Accept-Encoding: identity), checked the same way (`request_head`); no
redirects, no cookies, no User-Agent; a body the provider compressed anyway is decompressed as it
is read (gzip, deflate), any other encoding refused; a repeated response header is one value, its
values joined with ", ". Unlike it, aiohttp never sends a POST again on a fresh connection when a
kept one turns out closed: the forwarder's own retry does (`resent` stays 0).
"""

from __future__ import annotations

import asyncio
import re
import ssl
import zlib
from functools import lru_cache
from typing import Any

import aiohttp
from yarl import URL

from services.gateway.adapters.base import UpstreamRequest
from services.gateway.forwarding.http1.errors import (
    ConnectFailed,
    ConnectTimeout,
    ProtocolError,
    ReadTimeout,
)
from services.gateway.forwarding.http1.head import OWN_HEADERS, request_head, target_of
from services.gateway.forwarding.http1.response import END_GRACE_S, disconnected

_IDENTITY = {"Accept-Encoding": "identity"}
_BAD_NAME = re.compile("[:\r\n\0]")
_BAD_VALUE = re.compile("[\r\n\0]")


class _CountingConnector(aiohttp.TCPConnector):
    """aiohttp's keep-alive pool, counting the connections it makes."""

    opened = 0

    async def _create_connection(self, req: Any, traces: Any, timeout: Any) -> Any:
        protocol = await super()._create_connection(req, traces, timeout)
        self.opened += 1
        return protocol


class PoolCounters:
    """What the gateway's /health reads as `upstream.pool`."""

    resent = 0  # aiohttp does not send a POST again

    def __init__(self, client: AiohttpUpstream) -> None:
        self._client = client

    @property
    def opened(self) -> int:
        connector = self._client.connector
        return connector.opened if connector is not None else 0

    @property
    def idle(self) -> int:
        """Kept connections still open (aiohttp drops one the provider closed only when it next looks)."""
        connector = self._client.connector
        if connector is None:
            return 0
        return sum(protocol.is_connected() for conns in connector._conns.values() for protocol, _ in conns)


@lru_cache(maxsize=4096)
def _url(url: str) -> URL:
    target_of(url)  # the URLs the gateway's own client refuses are refused alike (BadRequestHead)
    return URL(url)


def _headers(url: str, headers: dict[str, str], body_length: int) -> dict[str, str]:
    """The caller's headers less the gateway's own, and identity encoding; a header that would
    break the request is refused as the gateway's own client refuses it (BadRequestHead)."""
    out = {name: value for name, value in headers.items() if name.lower() not in OWN_HEADERS}
    names, values = "".join(out), "".join(out.values())
    if "" in out or _BAD_NAME.search(names) or _BAD_VALUE.search(values) or not (names + values).isascii():
        request_head("POST", target_of(url), headers, body_length)  # raises, naming the header, if it is bad
    out.update(_IDENTITY)
    return out


class AiohttpUpstream:
    def __init__(self, connect_timeout_s: float, *, keepalive_s: float = 30.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.connect_timeout_s = connect_timeout_s
        self.keepalive_s = keepalive_s
        self._ssl = ssl_context
        self.connector: _CountingConnector | None = None
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self.pool = PoolCounters(self)

    async def start(self) -> None:
        if self._session is not None:
            return
        self.connector = _CountingConnector(limit=0, keepalive_timeout=self.keepalive_s,
                                            ssl=self._ssl if self._ssl is not None else True)
        self._session = aiohttp.ClientSession(
            connector=self.connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent", "Accept", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=None, connect=self.connect_timeout_s))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _timeout(self, connect_s: float) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(connect_s)
        if timeout is None:
            timeout = self._timeouts[connect_s] = aiohttp.ClientTimeout(total=None, connect=connect_s)
        return timeout

    async def open(self, req: UpstreamRequest, connect_timeout_s: float | None = None) -> AiohttpResponse:
        """POST the request; returns once the status and headers are in (body not read).
        The caller bounds the wait for the answer; this bounds the connect."""
        url = _url(req.url)
        headers = _headers(req.url, req.headers, len(req.body))
        if self._session is None:
            await self.start()
        assert self._session is not None
        connect_s = self.connect_timeout_s if connect_timeout_s is None else connect_timeout_s
        try:
            resp = await self._session.post(url, data=req.body, headers=headers, allow_redirects=False,
                                            timeout=self._timeout(connect_s))
        except aiohttp.ServerTimeoutError:  # the connect timeout: the only one set here
            raise ConnectTimeout(f"no connection to {url.host}:{url.port} within {connect_s:g} s") from None
        except aiohttp.ClientSSLError as exc:
            raise ConnectFailed(f"TLS with {url.host}:{url.port} failed: {exc}") from None
        except aiohttp.ClientConnectorError as exc:
            raise ConnectFailed(f"cannot connect to {url.host}:{url.port}: {exc.strerror or exc}") from None
        except aiohttp.ClientResponseError as exc:
            raise ProtocolError(f"the provider's answer is not valid HTTP/1.1: {exc.message}") from None
        except aiohttp.ClientConnectionError:  # closed (or reset) before any answer
            raise disconnected(before_answer=True) from None
        try:
            return AiohttpResponse(resp)
        except ProtocolError:
            resp.close()
            raise


def _inflater(encoding: str | None) -> zlib._Decompress | None:
    """What undoes the answer's compression: None for none, ProtocolError for one not asked for."""
    if encoding in (None, "", "identity"):
        return None
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise ProtocolError(f"the provider answered with content-encoding {encoding!r} the gateway did not ask for")
    return zlib.decompressobj(wbits=47)  # 47: a gzip or zlib header, detected


class AiohttpResponse:
    """One answer: status and headers at once, the body read piece by piece, as `http1.Response`."""

    __slots__ = ("status", "headers", "_resp", "_content", "_inflate", "_finished", "_ended", "_timer", "_loop",
                 "_idle_s", "_deadline", "_last", "_seen")
    resent = False  # aiohttp never sends a POST a second time

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self.status = resp.status
        headers: dict[str, str] = {}  # lower-case names; a repeated header's values joined with ", "
        for raw_name, raw_value in resp.raw_headers:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.headers = headers
        self._resp = resp
        self._content = resp.content
        self._inflate = _inflater(headers.get("content-encoding"))
        self._finished = False  # released or closed
        self._ended = False  # the body was read to its end
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle_s = 0.0
        self._deadline = 0.0
        self._last = 0.0  # loop time the provider was last seen sending
        self._seen = 0  # body bytes arrived by then

    # -- the body's timeouts ------------------------------------------------------------------------
    def watch(self, idle_s: float, deadline: float) -> None:
        """Bound the body: at most `idle_s` between two pieces, all of it before `deadline` (loop time)."""
        self._loop = loop = asyncio.get_running_loop()
        self._idle_s, self._deadline, self._last = idle_s, deadline, loop.time()
        self._seen = self._content.total_bytes
        self._timer = loop.call_at(min(self._last + idle_s, deadline), self._check)

    def _check(self) -> None:
        loop, content = self._loop, self._content
        self._timer = None
        if loop is None or self._finished or content.is_eof() or content.exception() is not None:
            return
        now = loop.time()
        if now >= self._deadline:
            content.set_exception(ReadTimeout("the answer ran past its total timeout"))
            return
        if content.total_bytes != self._seen:  # bytes came the reader has not taken yet: not silent
            self._seen, self._last = content.total_bytes, now
        elif now - self._last >= self._idle_s:
            content.set_exception(ReadTimeout(f"no data for {self._idle_s:g} s (idle timeout)"))
            return
        self._timer = loop.call_at(min(self._last + self._idle_s, self._deadline), self._check)

    # -- read by the gateway --------------------------------------------------------------------
    @property
    def at_eof(self) -> bool:
        return self._ended or self._content.at_eof()

    async def readany(self) -> bytes:
        """What has arrived since the last read (waiting for something if nothing has); b"" once
        the answer is complete. Raises Disconnected if the provider goes away before that."""
        while not self._ended:
            try:
                data = await self._content.readany()
            except aiohttp.ClientPayloadError:
                raise disconnected(before_answer=False) from None
            except aiohttp.ClientConnectionError:
                raise disconnected(before_answer=False) from None
            if not data:
                self._ended = True
                if self._inflate is not None and not self._inflate.eof:
                    self.close()
                    raise ProtocolError("the provider's compressed answer is cut short")
                self.release()  # read to its end: the connection can serve the next request
                break
            if self._timer is not None and self._loop is not None:
                self._last, self._seen = self._loop.time(), self._content.total_bytes
            if self._inflate is not None:
                try:
                    data = self._inflate.decompress(data)
                except zlib.error as exc:
                    self.close()
                    raise ProtocolError(f"the provider's compressed answer cannot be decoded: {exc}") from None
                if not data:
                    continue  # a compressed piece too small to give any text yet
            return data
        return b""

    async def read(self) -> bytes:
        """The whole (rest of the) body."""
        parts: list[bytes] = []
        while chunk := await self.readany():
            parts.append(chunk)
        return b"".join(parts)

    def release(self) -> None:
        """Done with the answer: the connection goes back to the pool if the answer arrived whole
        and both sides keep it alive; otherwise it is closed."""
        if not self._finished:
            self._stop_timer()
            self._finished = True
            self._resp.release()

    def close(self) -> None:
        """Done with the answer, read or not: a connection still carrying it is closed (an
        unfinished stream upstream is cancelled by it)."""
        if not self._finished:
            self._stop_timer()
            self._finished = True
            self._resp.close()

    def done_reading(self, grace_s: float = END_GRACE_S) -> None:
        """The reader has all it wants (a stream's end marker): the connection is reused if the
        answer ends within `grace_s` (its end usually follows the marker at once), else closed."""
        if self._finished:
            return
        if self._content.is_eof():
            self.release()
            return
        self._stop_timer()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_at(loop.time() + grace_s, self.close)
        self._content.on_eof(self.release)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
