"""Keep-alive connections to providers, per origin, reused most-recent first.

A request takes an idle connection (or opens one within the connect timeout), writes its head and
body, and waits for the answer's headers. A reused connection the provider had already closed
(it closes idle ones on its own clock) fails before any answer byte: the request is then sent
once more on a new connection, which is what every keep-alive client does, since the provider
never saw it. Connections idle longer than `keepalive_s` are closed instead of reused.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time

from services.gateway.forwarding.http1.connection import Connection
from services.gateway.forwarding.http1.errors import ConnectFailed, ConnectTimeout, Disconnected
from services.gateway.forwarding.http1.head import Origin, Target, request_head
from services.gateway.forwarding.http1.response import Response


class ConnectionPool:
    def __init__(self, *, keepalive_s: float = 30.0, max_idle_per_origin: int = 256,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.keepalive_s = keepalive_s
        self.max_idle_per_origin = max_idle_per_origin
        self._ssl = ssl_context
        self._idle: dict[Origin, list[Connection]] = {}
        self.opened = 0  # connections made since start (for tests and /health)
        self.resent = 0  # requests sent again after a reused connection turned out closed

    @property
    def ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()  # the system's CAs (SSL_CERT_FILE honoured)
        return self._ssl

    async def request(self, method: str, target: Target, headers: dict[str, str], body: bytes,
                      connect_timeout_s: float) -> Response:
        """Send the request; returns once the answer's status and headers are in (body unread)."""
        head = request_head(method, target, headers, len(body))
        while True:
            conn = self._take(target.origin)
            reused = conn is not None
            if conn is None:
                conn = await self._connect(target.origin, connect_timeout_s)
            try:
                conn.send(head, body)
                return await conn.headers()
            except Disconnected as exc:
                conn.close()
                if reused and exc.before_answer:
                    self.resent += 1
                    continue  # the provider had closed it while idle: once more on a fresh one
                raise
            except BaseException:  # a timeout or cancellation while waiting: the exchange is abandoned
                conn.close()
                raise

    def _take(self, origin: Origin) -> Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < self.keepalive_s:
                return conn
            conn.close()
        return None

    def _give_back(self, conn: Connection, origin: Origin) -> None:
        idle = self._idle.setdefault(origin, [])
        if len(idle) >= self.max_idle_per_origin:
            conn.close()
            return
        idle.append(conn)

    async def _connect(self, origin: Origin, timeout_s: float) -> Connection:
        loop = asyncio.get_running_loop()
        conn = Connection(lambda c: self._give_back(c, origin))
        try:
            async with asyncio.timeout(timeout_s):
                await loop.create_connection(
                    lambda: conn, origin.host, origin.port,
                    ssl=self.ssl_context if origin.tls else None,
                    server_hostname=origin.host if origin.tls else None,
                )
        except TimeoutError:
            raise ConnectTimeout(f"no connection to {origin.host}:{origin.port} within {timeout_s:g} s") from None
        except ssl.SSLError as exc:
            raise ConnectFailed(f"TLS with {origin.host}:{origin.port} failed: {exc.reason or exc}") from None
        except (OSError, socket.gaierror) as exc:
            raise ConnectFailed(f"cannot connect to {origin.host}:{origin.port}: {exc.strerror or exc}") from None
        sock = conn.transport.get_extra_info("socket") if conn.transport is not None else None
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.opened += 1
        return conn

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()

    @property
    def idle(self) -> int:
        return sum(len(v) for v in self._idle.values())
