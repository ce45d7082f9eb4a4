"""A raw HTTP/1.1 server for the upstream client's tests: it answers each request with bytes the
test scripts (sized, chunked, until close, cut short, garbage) and counts connections."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import trustme

Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class RawServer:
    """Answers every request with `answer(request_bytes, writer)`; counts connections."""

    answer: Answer
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    port: int = 0
    server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                await self.answer(request, writer)
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://localhost:{self.port}/v1/chat/completions"


async def start_raw_server(answer: Answer, ssl_context: ssl.SSLContext | None = None) -> RawServer:
    """A RawServer listening on a free local port (close `.server` when done)."""
    raw = RawServer(answer)
    raw.server = await asyncio.start_server(raw.handle, "127.0.0.1", 0, ssl=ssl_context)
    raw.port = raw.server.sockets[0].getsockname()[1]
    return raw


def replying(raw: bytes, *, then_close: bool = False) -> Answer:
    """Answer with these exact bytes, and close the connection after them if asked."""
    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        await writer.drain()
        if then_close:
            writer.close()
    return answer


def sized(body: bytes, status: int = 200, extra: bytes = b"") -> Answer:
    return replying(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n%s\r\n" % (status, len(body), extra) + body)


def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    """A server's TLS for "localhost", with a certificate from the test CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    return context


def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    """A client's TLS trusting the test CA."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context
