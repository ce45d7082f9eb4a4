"""One upstream answer as it arrives: status and headers first, then the body read piece by piece.

The connection (`connection.py`) feeds it; the forwarder and the stream relay read it. A body the
provider compressed anyway (the gateway asks for identity) is decompressed as it is read
(gzip, deflate). Reading pauses the socket when more than HIGH_WATER bytes wait unread, so a
slow client slows the provider instead of filling the gateway's memory.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from typing import Protocol

from services.gateway.forwarding.http1.errors import Disconnected, ProtocolError, UpstreamHTTPError

HIGH_WATER = 256 * 1024


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
    __slots__ = ("status", "headers", "_link", "_chunks", "_size", "_complete", "_keep_alive", "_error",
                 "_waiter", "_paused", "_decode", "_finished")

    def __init__(self, link: Link) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}  # lower-case names; a repeated header keeps its last value
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

    # -- fed by the connection ------------------------------------------------------------------
    def headers_done(self, status: int) -> None:
        self.status = status
        self._decode = _decoder(self.headers.get("content-encoding"))

    def feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        if self._size > HIGH_WATER and not self._paused:
            self._paused = True
            self._link.pause_reading()
        self._wake()

    def complete(self, keep_alive: bool) -> None:
        self._complete = True
        self._keep_alive = keep_alive
        self._wake()

    def fail(self, error: UpstreamHTTPError) -> None:
        if not self._complete:
            self._error = error
        self._wake()

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
                    data = self._decode(data)
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
            self._finished = True
            self._link.finish(self._complete and self._keep_alive and self._error is None and not self._chunks)

    def close(self) -> None:
        """Done with the answer, read or not: the connection is closed (an unfinished stream upstream
        is cancelled by it)."""
        if not self._finished:
            self._finished = True
            self._link.finish(False)


def disconnected(before_answer: bool) -> Disconnected:
    if before_answer:
        return Disconnected("the provider closed the connection before answering", before_answer=True)
    return Disconnected("the provider closed the connection before its answer was complete")
