"""One keep-alive HTTP/1.1 connection to a provider, carrying one exchange at a time.

An asyncio protocol with llhttp's parser (httptools, the parser uvicorn serves with): the request
is written in one `write`, the answer's status, headers and body pieces go to the exchange's
`Response` as the parser finds them. Informational answers (1xx) are skipped. A body without a
length or chunking ends when the provider closes; any other answer cut short is a `Disconnected`.

Whether the request left whole: the transport's write-buffer limits are 0, so it calls
`pause_writing` as soon as bytes wait in its buffer and `resume_writing` once they have all gone
to the kernel. A connection lost while bytes of the request still waited there (or a write the
transport refused, closing) is `Disconnected(unsent=True)`: the provider cannot have acted on it.
Past that point nobody can tell, so no other loss is `unsent`. (Over TLS the buffer seen is the
TLS layer's: bytes it passed on but the socket has not taken count as sent, which errs on the
side of not sending again.) The pool hears of the close once (`on_closed`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import cast

import httptools

from services.gateway.forwarding.http1.errors import Disconnected, ProtocolError
from services.gateway.forwarding.http1.response import Response, disconnected


class Connection(asyncio.Protocol):
    def __init__(self, on_reusable: Callable[[Connection], None],
                 on_closed: Callable[[Connection], None] = lambda _: None) -> None:
        self._on_reusable = on_reusable  # the pool takes it back
        self._on_closed = on_closed  # the pool hears of the close, once
        self.counted = False  # the pool's: this connection holds one of its origin's places
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self._unflushed = False  # bytes of the current request still wait in the transport's buffer
        self.idle_since = time.monotonic()
        self.keepalive_hint_s: float | None = None  # the server's `Keep-Alive: timeout=`, when it says
        self._keepalive_header = ""  # that header as last parsed
        self.exchanges = 0  # requests this connection has carried
        self.response: Response | None = None
        self._headers_ready: asyncio.Future[None] | None = None
        self._received = False  # any byte of the current exchange's answer
        self._informational = False  # the message being parsed is a 1xx
        self._sized = False  # the answer has a Content-Length or is chunked: EOF before its end is an error

    # -- the exchange ----------------------------------------------------------------------------
    def send(self, head: bytes, body: bytes) -> Response:
        """Write the request; raises Disconnected(unsent=True) if the connection is already closing."""
        transport = self.transport
        assert transport is not None and self.response is None, "one exchange at a time"
        if self.closed or transport.is_closing():
            self.close()
            raise disconnected(before_answer=True, unsent=True)
        self.exchanges += 1
        self._received = False
        self.response = response = Response(self)
        self._headers_ready = asyncio.get_running_loop().create_future()
        transport.write(head + body if len(body) < 65536 else head)
        if len(body) >= 65536:
            transport.write(body)
        # a write the socket refused closes the transport at once: none of it (or not all) went
        self._unflushed = transport.get_write_buffer_size() > 0 or transport.is_closing()
        return response

    @property
    def alive(self) -> bool:
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    async def headers(self) -> Response:
        """Wait for the answer's status line and headers."""
        assert self._headers_ready is not None and self.response is not None
        await self._headers_ready
        return self.response

    @property
    def received_anything(self) -> bool:
        return self._received

    # -- Link (what the response calls) ------------------------------------------------------------
    def pause_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def finish(self, reusable: bool) -> None:
        self.response = None
        self._headers_ready = None
        if reusable and not self.closed:
            self.idle_since = time.monotonic()
            self._on_reusable(self)
        else:
            self.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self._mark_closed()

    def _mark_closed(self) -> None:
        if not self.closed:
            self.closed = True
            self._on_closed(self)

    # -- asyncio.Protocol --------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio.Transport subclasses
        self.transport.set_write_buffer_limits(high=0)  # resume_writing: the buffer is empty again

    def resume_writing(self) -> None:
        self._unflushed = False

    def data_received(self, data: bytes) -> None:
        if self.response is None:  # bytes nobody asked for: the connection cannot be trusted again
            self.close()
            return
        self._received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ProtocolError(f"the provider's answer is not valid HTTP/1.1: {exc}"))
            self.close()

    def eof_received(self) -> bool | None:
        return None  # close the transport; connection_lost decides what the end means

    def connection_lost(self, exc: Exception | None) -> None:
        unsent = self._unflushed and not self._received
        self._unflushed = False
        self._mark_closed()
        response = self.response
        if response is None:
            return
        ready = self._headers_ready
        if ready is not None and not ready.done():
            self._fail(disconnected(before_answer=not self._received, unsent=unsent))
        elif not self._sized:
            response.complete(keep_alive=False)  # a body that runs until the connection closes
        else:
            response.fail(disconnected(before_answer=False))

    def _fail(self, error: Disconnected | ProtocolError) -> None:
        ready = self._headers_ready
        if ready is not None and not ready.done():
            ready.set_exception(error)
        if self.response is not None:
            self.response.fail(error)

    # -- llhttp callbacks --------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._informational = False
        if self.response is not None:
            self.response.headers.clear()
            self.response.raw.clear()

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.response is not None:
            self.response.raw.append((name, value))  # indexed once they have all come

    def on_headers_complete(self) -> None:
        response = self.response
        if response is None:
            return
        status = self.parser.get_status_code()
        if status < 200:
            self._informational = True
            return
        headers = response.index_headers()
        announced = headers.get("keep-alive")
        if announced is not None and announced != self._keepalive_header:
            self._keepalive_header = announced
            self.keepalive_hint_s = keepalive_timeout(announced)
        self._sized = "content-length" in headers or "chunked" in headers.get("transfer-encoding", "").lower()
        try:
            response.headers_done(status)
        except ProtocolError as exc:
            self._fail(exc)
            self.close()
            return
        ready = self._headers_ready
        if ready is not None and not ready.done():
            ready.set_result(None)

    def on_body(self, body: bytes) -> None:
        if self.response is not None and not self._informational:
            self.response.feed(body)

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        if self.response is not None:
            self._sized = True  # complete: a close now is the end of the connection, not of the body
            self.response.complete(self.parser.should_keep_alive())


def keepalive_timeout(header: str) -> float | None:
    """The `timeout=N` of a `Keep-Alive` header (RFC 7230 A.1.2's hint, as Node's servers send it)."""
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "timeout":
            try:
                seconds = float(value.strip())
            except ValueError:
                return None
            return seconds if math.isfinite(seconds) and seconds > 0 else None
    return None
