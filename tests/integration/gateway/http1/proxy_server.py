"""A small forward proxy for the upstream client's tests: absolute-form requests for http targets,
CONNECT tunnels for https ones, as real proxies (squid, tinyproxy) serve them. It records the
first head of each connection, can require Proxy-Authorization, and can refuse every CONNECT."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class ForwardProxy:
    required_authorization: str | None = None  # e.g. "Basic dXNlcjpwQHNz"; None: no authentication
    refuse_connect: bool = False  # answer every CONNECT with 403
    heads: list[bytes] = field(default_factory=list)  # the first head of each client connection
    port: int = 0
    server: asyncio.Server | None = None

    @property
    def connections(self) -> int:
        return len(self.heads)

    async def start(self) -> ForwardProxy:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        self.heads.append(head)
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if self.required_authorization and headers.get("proxy-authorization") != self.required_authorization:
            await self._refuse(writer, b"407 Proxy Authentication Required")
            return
        if method == "CONNECT":
            if self.refuse_connect:
                await self._refuse(writer, b"403 Forbidden")
                return
            host, _, port = target.rpartition(":")
            upstream_reader, upstream_writer = await asyncio.open_connection(host.strip("[]"), int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            url = urlsplit(target)
            upstream_reader, upstream_writer = await asyncio.open_connection(url.hostname, url.port or 80)
            upstream_writer.write(head)  # the origin server reads the absolute-form line as well
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    @staticmethod
    async def _refuse(writer: asyncio.StreamWriter, status: bytes) -> None:
        writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()
