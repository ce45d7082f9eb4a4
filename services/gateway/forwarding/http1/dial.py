"""Making a connection to a provider: TCP with happy eyeballs, through a proxy if the environment
names one (plain http in absolute-form on the proxy's connection; https through a CONNECT tunnel),
then TLS. Every failure is a `ConnectFailed` (`ConnectTimeout` past the connect timeout) naming
what could not be reached: the provider, or the proxy by its host and port, never its credentials.

Happy eyeballs (RFC 8305): a name that resolves to IPv6 and IPv4 addresses is tried address after
address, families interleaved, the next attempt starting when one fails or HAPPY_EYEBALLS_DELAY_S
after it began, the first to connect winning; an unreachable IPv6 route costs a quarter second,
not a connect timeout. asyncio's `create_connection` does this itself (`happy_eyeballs_delay`);
uvloop's, which the gateway serves on, does not take the argument, so `_race` does it there.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import socket
import ssl
from collections.abc import Callable
from functools import lru_cache
from typing import Any, cast

from services.gateway.forwarding.http1.connection import Connection
from services.gateway.forwarding.http1.errors import ConnectFailed, ConnectTimeout
from services.gateway.forwarding.http1.head import Origin
from services.gateway.forwarding.http1.proxy import Proxy

HAPPY_EYEBALLS_DELAY_S = 0.25
MAX_PROXY_ANSWER_HEAD = 64 * 1024

AddrInfo = tuple[Any, ...]


async def dial(conn: Connection, origin: Origin, proxy: Proxy | None, ssl_context: ssl.SSLContext | None,
               timeout_s: float) -> None:
    """Connect `conn` to `origin` (through `proxy` if given) within `timeout_s`; TLS when
    `ssl_context` is given."""
    where = f"{origin.host}:{origin.port}"
    via = "" if proxy is None else f" through proxy {proxy.shown}"
    if proxy is not None and proxy.problem:
        raise ConnectFailed(f"cannot connect to {where}: {proxy.problem}")
    try:
        async with asyncio.timeout(timeout_s):
            await _dial(conn, origin, proxy, ssl_context)
    except TimeoutError:
        raise ConnectTimeout(f"no connection to {where}{via} within {timeout_s:g} s") from None
    except ssl.SSLError as exc:
        raise ConnectFailed(f"TLS with {where}{via} failed: {exc.reason or exc}") from None
    except OSError as exc:
        reached = where if proxy is None else f"proxy {proxy.shown}"
        raise ConnectFailed(f"cannot connect to {reached}: {exc.strerror or exc}") from None


async def _dial(conn: Connection, origin: Origin, proxy: Proxy | None, ssl_context: ssl.SSLContext | None) -> None:
    loop = asyncio.get_running_loop()
    if proxy is None:
        tls: dict[str, Any] = {} if ssl_context is None else {"ssl": ssl_context, "server_hostname": origin.host}
        await tcp(loop, lambda: conn, origin.host, origin.port, **tls)
    elif ssl_context is None:
        await tcp(loop, lambda: conn, proxy.host, proxy.port)  # the requests name the whole URL
    else:
        await _tunnel(loop, conn, origin, proxy, ssl_context)


async def tcp(loop: asyncio.AbstractEventLoop, factory: Callable[[], asyncio.Protocol], host: str, port: int,
              **tls: Any) -> tuple[asyncio.BaseTransport, asyncio.BaseProtocol]:
    """`loop.create_connection` with happy eyeballs on every loop."""
    if isinstance(loop, asyncio.BaseEventLoop):
        return await loop.create_connection(factory, host, port, happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY_S,
                                            interleave=1, **tls)
    if _is_ip(host):  # nothing to resolve, one address
        return await loop.create_connection(factory, host, port, **tls)
    infos = await loop.run_in_executor(None, socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
    sock = await _race(loop, _interleave(infos))
    return await loop.create_connection(factory, sock=sock, **tls)


@lru_cache(maxsize=1024)
def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _interleave(infos: list[AddrInfo]) -> list[AddrInfo]:
    """The addresses, families alternating, starting with the resolver's first family."""
    by_family: dict[int, list[AddrInfo]] = {}
    for info in infos:
        by_family.setdefault(info[0], []).append(info)
    rounds = itertools.zip_longest(*by_family.values())
    return [info for one_round in rounds for info in one_round if info is not None]


async def _race(loop: asyncio.AbstractEventLoop, infos: list[AddrInfo]) -> socket.socket:
    """The first socket to connect, one attempt per address, staggered by HAPPY_EYEBALLS_DELAY_S;
    the attempts that lose are cancelled and their sockets closed."""
    if not infos:
        raise OSError("the name resolved to no address")
    waiting = list(reversed(infos))
    pending: set[asyncio.Task[socket.socket]] = set()
    errors: list[BaseException] = []
    try:
        while waiting or pending:
            if waiting:
                pending.add(loop.create_task(_attempt(loop, waiting.pop())))
            done, pending = await asyncio.wait(pending, timeout=HAPPY_EYEBALLS_DELAY_S if waiting else None,
                                               return_when=asyncio.FIRST_COMPLETED)
            won: list[socket.socket] = []
            for task in done:
                if task.exception() is None:
                    won.append(task.result())
                else:
                    errors.append(task.exception())  # type: ignore[arg-type]
            for extra in won[1:]:  # connected in the same instant: one is enough
                extra.close()
            if won:
                return won[0]
    finally:
        for task in pending:
            task.cancel()  # _attempt closes its socket
    if len({str(e) for e in errors}) == 1:
        raise errors[0]
    raise OSError("every address failed: " + "; ".join(str(e) for e in errors))


async def _attempt(loop: asyncio.AbstractEventLoop, info: AddrInfo) -> socket.socket:
    family, kind, proto, _, address = info
    sock = socket.socket(family, kind, proto)
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, address)
    except BaseException:
        sock.close()
        raise
    return sock


class _ProxyAnswer(asyncio.Protocol):
    """Reads the proxy's answer to CONNECT: its status line and headers, nothing after them."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.head = loop.create_future()
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.head.done():
            return
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end >= 0:
            self.head.set_result(self._buffer[:end])
            if self._transport is not None:
                self._transport.pause_reading()  # start_tls takes the connection over from here
        elif len(self._buffer) > MAX_PROXY_ANSWER_HEAD:
            self.head.set_exception(ConnectionError("the proxy's answer to CONNECT has no end of headers"))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.head.done():
            self.head.set_exception(ConnectionError("the proxy closed the connection before answering CONNECT"))


async def _tunnel(loop: asyncio.AbstractEventLoop, conn: Connection, origin: Origin, proxy: Proxy,
                  ssl_context: ssl.SSLContext) -> None:
    """CONNECT host:port through the proxy, then TLS with the provider inside the tunnel."""
    answer = _ProxyAnswer(loop)
    raw, _ = await tcp(loop, lambda: answer, proxy.host, proxy.port)
    transport = cast(asyncio.Transport, raw)
    try:
        host = f"[{origin.host}]" if ":" in origin.host else origin.host.encode("idna").decode("ascii")
        authority = f"{host}:{origin.port}".encode("ascii")
        credentials = b"Proxy-Authorization: " + proxy.authorization + b"\r\n" if proxy.authorization else b""
        transport.write(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (authority, authority, credentials))
        status_line = (await answer.head).split(b"\r\n", 1)[0].decode("latin-1")
        parts = status_line.split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[0].startswith("HTTP/") and parts[1].isdigit() else 0
        if not 200 <= status < 300:
            answered = "HTTP " + " ".join(parts[1:]) if status else "not an HTTP answer"
            raise ConnectFailed(f"proxy {proxy.shown} refused to tunnel to {origin.host}:{origin.port}: {answered}")
        tls_transport = await loop.start_tls(transport, conn, ssl_context, server_hostname=origin.host)
    except BaseException:
        transport.close()
        raise
    if tls_transport is None:
        raise ConnectionError("the tunnel closed during the TLS handshake")
    conn.connection_made(tls_transport)  # start_tls hands the protocol its transport; it does not call this
