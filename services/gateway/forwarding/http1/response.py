"""One upstream answer as it arrives: status and headers first, then the body read piece by piece.

The connection (`connection.py`) feeds it; the forwarder and the stream relay read it. A body the
provider compressed anyway (the gateway asks for identity) is decompressed as it is read
(gzip, deflate); a body that does not decompress is a `ProtocolError` and closes the connection.
Headers: `headers` maps lower-case names to values, a repeated header's values joined with ", "
(RFC 9110 5.3) except set-cookie's (the last one); `raw_headers` keeps every (name, value) as it
came. `resent` says the pool sent the request a second time, on a fresh connection, because the
first connection closed before the request was fully written.

Reading pauses the socket when more than HIGH_WATER bytes wait unread, so a slow client slows the
provider instead of filling the gateway's memory.

`watch(idle_s, deadline)` bounds the body: one timer per answer, re-armed only when it fires
(not a timeout context per read), ends it with `ReadTimeout` when the provider is silent past
`idle_s` or the answer runs past `deadline`. `done_reading()` lets a reader that has what it
wants (a stream's end marker) leave the connection reusable if the answer's own end follows.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from typing import Protocol

from services.gateway.forwarding.http1.errors import Disconnected, ProtocolError, ReadTimeout, UpstreamHTTPError

HIGH_WATER = 256 * 1024
END_GRACE_S = 1.0  # after a stream's end marker, how long its answer may take to end before the connection is closed


class Link(Protocol):
    """What a response needs of its connection."""

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def finish(self, reusable: bool) -> None: ...


def _decoder(encoding: str | None) -> Callable[[bytes], bytes] | None:
    if not encoding or encoding == "identity":
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(wbits=47).decompress  # 47: a gzip or zlib header, detected
    raise ProtocolError(f"the provider answered with content-encoding {encoding!r} the gateway did not ask for")


class Response:
    __slots__ = ("status", "headers", "raw", "resent", "_link", "_chunks", "_size", "_complete",
                 "_keep_alive", "_error", "_waiter", "_paused", "_decode", "_finished", "_timer", "_loop", "_idle_s",
                 "_deadline", "_last", "_discard")

    def __init__(self, link: Link) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}  # lower-case names; a repeated header's values comma-joined
        self.raw: list[tuple[bytes, bytes]] = []  # every header as it came, in order (the parser's bytes)
        self.resent = False  # sent a second time, on a fresh connection (the first never took it whole)
        self._link = link
        self._chunks: list[bytes] = []
        self._size = 0
        self._complete = False
        self._keep_alive = False
        self._error: UpstreamHTTPError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._decode: Callable[[bytes], bytes] | None = None
        self._finished = False  # released or closed: the connection is no longer this response's
        self._timer: asyncio.TimerHandle | None = None  # the idle/total watch, or the end-marker grace
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle_s = 0.0
        self._deadline = 0.0
        self._last = 0.0  # loop time of the last body bytes
        self._discard = False  # done reading: bytes still coming are dropped until the answer ends

    @property
    def raw_headers(self) -> list[tuple[str, str]]:
        """Every header as it came, in order, as text."""
        return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in self.raw]

    # -- fed by the connection ------------------------------------------------------------------
    def index_headers(self) -> dict[str, str]:
        """`headers` from the raw ones, once all have come (one pass, not one call per header)."""
        raw = self.raw
        headers = self.headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw}
        if len(headers) < len(raw):  # a name came more than once: RFC 9110 5.3, one list, comma-joined
            headers.clear()
            for name, value in raw:
                key = name.decode("latin-1").lower()
                text = value.decode("latin-1")
                if key in headers and key != "set-cookie":  # (set-cookie's values are never joined: the last)
                    headers[key] += ", " + text
                else:
                    headers[key] = text
        return headers

    def headers_done(self, status: int) -> None:
        self.status = status
        self._decode = _decoder(self.headers.get("content-encoding"))

    def feed(self, data: bytes) -> None:
        if self._timer is not None and self._loop is not None:
            self._last = self._loop.time()
        if self._discard:
            return
        self._chunks.append(data)
        self._size += len(data)
        if self._size > HIGH_WATER and not self._paused:
            self._paused = True
            self._link.pause_reading()
        self._wake()

    def complete(self, keep_alive: bool) -> None:
        self._complete = True
        self._keep_alive = keep_alive
        if self._discard:
            self._chunks.clear()
            self.release()
        self._wake()

    def fail(self, error: UpstreamHTTPError) -> None:
        if not self._complete:
            self._error = error
        if self._discard:
            self.close()
        self._wake()

    # -- the body's timeouts ------------------------------------------------------------------------
    def watch(self, idle_s: float, deadline: float) -> None:
        """Bound the body: at most `idle_s` between two pieces, all of it before `deadline` (loop time)."""
        self._loop = loop = asyncio.get_running_loop()
        self._idle_s, self._deadline, self._last = idle_s, deadline, loop.time()
        self._timer = loop.call_at(min(self._last + idle_s, deadline), self._check)

    def _check(self) -> None:
        loop = self._loop
        self._timer = None
        if loop is None or self._finished or self._complete or self._error is not None:
            return
        now = loop.time()
        if now >= self._deadline:
            self.fail(ReadTimeout("the answer ran past its total timeout"))
        elif self._paused:  # the gateway's own reader is behind: the provider is not silent
            self._last = now
        elif now - self._last >= self._idle_s:
            self.fail(ReadTimeout(f"no data for {self._idle_s:g} s (idle timeout)"))
        if self._error is None:
            self._timer = loop.call_at(min(self._last + self._idle_s, self._deadline), self._check)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- read by the gateway --------------------------------------------------------------------
    @property
    def at_eof(self) -> bool:
        return self._complete and not self._chunks

    async def readany(self) -> bytes:
        """What has arrived since the last read (waiting for something if nothing has); b"" once
        the answer is complete. Raises Disconnected if the provider goes away before that."""
        while True:
            if self._chunks:
                data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
                self._chunks.clear()
                self._size = 0
                if self._paused:
                    self._paused = False
                    self._link.resume_reading()
                if self._decode is not None:
                    try:
                        data = self._decode(data)
                    except zlib.error as exc:
                        encoding = self.headers.get("content-encoding")
                        self._error = ProtocolError(f"the provider's {encoding} body does not decompress: {exc}")
                        self.close()
                        raise self._error from None
                    if not data:
                        continue  # a compressed piece too small to give any text yet
                return data
            if self._error is not None:
                raise self._error
            if self._complete:
                self.release()  # read to its end: the connection can serve the next request
                return b""
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    async def read(self) -> bytes:
        """The whole (rest of the) body."""
        parts: list[bytes] = []
        while chunk := await self.readany():
            parts.append(chunk)
        return b"".join(parts)

    def release(self) -> None:
        """Done with the answer: the connection goes back to the pool if the answer was read to its
        end and both sides keep it alive; otherwise it is closed."""
        if not self._finished:
            self._stop_timer()
            self._finished = True
            self._link.finish(self._complete and self._keep_alive and self._error is None and not self._chunks)

    def close(self) -> None:
        """Done with the answer, read or not: the connection is closed (an unfinished stream upstream
        is cancelled by it)."""
        if not self._finished:
            self._stop_timer()
            self._finished = True
            self._link.finish(False)

    def done_reading(self, grace_s: float = END_GRACE_S) -> None:
        """The reader has all it wants (a stream's end marker): the connection is reused if the
        answer ends within `grace_s` (its end usually follows the marker at once), else closed."""
        if self._finished:
            return
        if self._complete:
            self._chunks.clear()
            self.release()
            return
        self._discard = True
        self._chunks.clear()
        if self._paused:
            self._paused = False
            self._link.resume_reading()
        self._stop_timer()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_at(loop.time() + grace_s, self.close)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def disconnected(before_answer: bool, unsent: bool = False) -> Disconnected:
    if unsent:
        return Disconnected("the connection closed before the request was fully sent", unsent=True)
    if before_answer:
        return Disconnected("the provider closed the connection before answering", before_answer=True)
    return Disconnected("the provider closed the connection before its answer was complete")
