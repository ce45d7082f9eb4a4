"""Keep-alive connections to providers, per origin, reused most-recent first.

A request takes an idle connection (or opens one within the connect timeout), writes its head and
body, and waits for the answer's headers.

Sent once: a request goes out a second time only when the provider cannot have received it, that
is when its connection was already closing, or closed while bytes of the request still waited to
be written (connection.py). Then it goes once more, on a fresh connection, the pool counts it
(`resent`) and the response says so (`Response.resent`). A connection that dies after the request
was written, before any byte of the answer, is a `Disconnected`: the provider may have received
(and billed) the call, so it is the forwarder's to count as a failed attempt, within its budget.

Idle connections are retired before a provider retires them on its own clock: a second before
the `Keep-Alive: timeout=N` its answers announce (Node's servers send it), else after
`keepalive_s` (Node's and uvicorn's servers close a connection idle 5 s; uvicorn says nothing).
One timer, armed while connections are idle, closes those past it, at most every eighth of the
keep-alive (a connection may stay open a little past its time, never reused past it: a request
never takes one past it).

At most `max_connections_per_origin` connections (open, in use or being opened) to one origin; a
request beyond it waits, first come first served, for one to come back or close; the caller bounds
the wait (the forwarder's timeout around the request). A wait abandoned just as a connection was
handed to it passes the connection on.

Proxies come from the environment when `trust_env` (proxy.py); connecting, with happy eyeballs,
TLS and CONNECT tunnels, is dial.py's.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from contextlib import suppress

from services.gateway.forwarding.http1.connection import Connection
from services.gateway.forwarding.http1.dial import dial
from services.gateway.forwarding.http1.errors import Disconnected
from services.gateway.forwarding.http1.head import Origin, Target, request_head
from services.gateway.forwarding.http1.proxy import Proxies, Proxy
from services.gateway.forwarding.http1.response import Response

KEEPALIVE_S = 4.0  # below the 5 s keep-alive of Node's and uvicorn's servers
HINT_MARGIN_S = 1.0  # retire this long before the keep-alive timeout a server announces
MAX_KEEPALIVE_S = 300.0  # however long a server says it keeps a connection


class _Origin:
    """One origin's connections: the idle ones, how many are open, who waits for one, and how
    long an idle one is kept."""

    __slots__ = ("idle", "open", "waiters", "keepalive_s", "hint_s")

    def __init__(self, keepalive_s: float) -> None:
        self.idle: dict[Connection, None] = {}  # oldest first (insertion order), taken from the end
        self.open = 0  # connections open, in use or being opened
        self.waiters: deque[asyncio.Future[Connection | None]] = deque()  # a connection, or None: a place
        self.keepalive_s = keepalive_s
        self.hint_s: float | None = None  # the server's last `Keep-Alive: timeout=`, once it sent one

    def heed(self, hint_s: float) -> None:
        """The server announced how long it keeps an idle connection: retire ours a little before."""
        self.hint_s = hint_s
        self.keepalive_s = min(hint_s - HINT_MARGIN_S if hint_s > 2 * HINT_MARGIN_S else hint_s / 2, MAX_KEEPALIVE_S)


class ConnectionPool:
    def __init__(self, *, keepalive_s: float = KEEPALIVE_S, max_idle_per_origin: int = 256,
                 max_connections_per_origin: int = 256, ssl_context: ssl.SSLContext | None = None,
                 trust_env: bool = False) -> None:
        self.keepalive_s = keepalive_s
        self.max_idle_per_origin = max_idle_per_origin
        self.max_connections_per_origin = max_connections_per_origin
        self._ssl = ssl_context
        self._proxies = Proxies.from_environment() if trust_env else None
        self._origins: dict[Origin, _Origin] = {}
        self._sweep: asyncio.TimerHandle | None = None
        self._sweep_loop: asyncio.AbstractEventLoop | None = None
        self.opened = 0  # connections made since start (for tests and /health)
        self.resent = 0  # requests sent again because their first connection never took them whole

    @property
    def ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()  # the system's CAs (SSL_CERT_FILE honoured)
        return self._ssl

    async def request(self, method: str, target: Target, headers: dict[str, str], body: bytes,
                      connect_timeout_s: float) -> Response:
        """Send the request; returns once the answer's status and headers are in (body unread)."""
        origin = target.origin
        proxy = self._proxies.route(origin) if self._proxies is not None else None
        if proxy is not None and not origin.tls:  # through the proxy's own connection: the whole URL
            head = request_head(method, target, headers, len(body), absolute=True,
                                proxy_authorization=proxy.authorization)
        else:
            head = request_head(method, target, headers, len(body))
        state = self._origins.get(origin)
        if state is None:
            state = self._origins[origin] = _Origin(self.keepalive_s)
        conn = await self._acquire(state, origin, proxy, connect_timeout_s, fresh=False)
        resent = False
        while True:
            try:
                conn.send(head, body)
                response = await conn.headers()
            except Disconnected as exc:
                conn.close()
                if not exc.unsent or resent:
                    raise  # it may have reached the provider: the forwarder's to count
                resent = True
                self.resent += 1
                conn = await self._acquire(state, origin, proxy, connect_timeout_s, fresh=True)
                continue
            except BaseException:  # a timeout or cancellation while waiting: the exchange is abandoned
                conn.close()
                raise
            response.resent = resent
            return response

    # -- places and connections ------------------------------------------------------------------
    async def _acquire(self, state: _Origin, origin: Origin, proxy: Proxy | None, timeout_s: float, *,
                       fresh: bool) -> Connection:
        """An idle connection (unless `fresh`), or a new one in a free place, or the first to come
        back (waiting in line) when the origin has all its places taken."""
        while True:
            if not fresh and (conn := self._take(state)) is not None:
                return conn
            if state.open < self.max_connections_per_origin:
                state.open += 1
                break
            if fresh and state.idle:  # the oldest idle one gives its place to a fresh connection
                self._close_keeping_place(next(iter(state.idle)))
                break
            handed = await self._wait(state)
            if handed is None:  # a place, from a connection that closed
                break
            if not handed.closed:
                if not fresh:
                    return handed
                self._close_keeping_place(handed)
                break
            # closed just after it was handed over: its place went on already; try again
        conn = Connection(lambda c: self._give_back(state, c), lambda c: self._closed(state, c))
        conn.counted = True  # the place is freed when it closes, whatever closes it
        try:
            await dial(conn, origin, proxy, self.ssl_context if origin.tls else None, timeout_s)
        except BaseException:
            conn.close()
            raise
        self.opened += 1
        return conn

    def _take(self, state: _Origin) -> Connection | None:
        idle = state.idle
        if not idle:
            return None
        now = time.monotonic()
        while idle:
            conn, _ = idle.popitem()  # the most recently used
            if conn.alive and now - conn.idle_since < state.keepalive_s:
                return conn
            conn.close()
        return None

    async def _wait(self, state: _Origin) -> Connection | None:
        waiter: asyncio.Future[Connection | None] = asyncio.get_running_loop().create_future()
        state.waiters.append(waiter)
        try:
            return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():  # handed something as the wait ended: pass it on
                handed = waiter.result()
                if handed is None:
                    self._free(state)
                else:
                    self._give_back(state, handed)
            else:
                with suppress(ValueError):
                    state.waiters.remove(waiter)
            raise

    def _give_back(self, state: _Origin, conn: Connection) -> None:
        """A connection whose answer was read to its end: to the first in line, or idle."""
        if not conn.alive:
            conn.close()
            return
        while state.waiters:
            waiter = state.waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if len(state.idle) >= self.max_idle_per_origin:
            conn.close()
            return
        hint = conn.keepalive_hint_s
        if hint is not None and hint != state.hint_s:
            state.heed(hint)
        state.idle[conn] = None
        if self._sweep is None or self._sweep_loop is None or self._sweep_loop.is_closed():
            self._arm_sweep(state.keepalive_s)

    def _closed(self, state: _Origin, conn: Connection) -> None:
        state.idle.pop(conn, None)
        if conn.counted:
            conn.counted = False
            self._free(state)

    def _free(self, state: _Origin) -> None:
        """A place is free: to the first in line, or back to the origin."""
        while state.waiters:
            waiter = state.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        state.open -= 1

    @staticmethod
    def _close_keeping_place(conn: Connection) -> None:
        """Close `conn`; the caller takes over its place."""
        conn.counted = False
        conn.close()

    # -- retiring idle connections ---------------------------------------------------------------
    def _arm_sweep(self, delay_s: float) -> None:
        loop = asyncio.get_running_loop()
        self._sweep_loop = loop
        self._sweep = loop.call_later(delay_s, self._retire_idle)

    def _retire_idle(self) -> None:
        """Close the connections idle their origin's keep-alive or more; come back when the next
        one will be, but not sooner than an eighth of its keep-alive (connections gone idle at
        staggered moments would otherwise each bring the timer back: measured, three sweeps a
        request under steady load)."""
        self._sweep = None
        now = time.monotonic()
        next_due: float | None = None
        for state in self._origins.values():
            idle = state.idle
            keep = state.keepalive_s
            while idle:
                oldest = next(iter(idle))
                age = now - oldest.idle_since
                if age < keep:
                    due = max(keep - age, keep / 8)
                    next_due = due if next_due is None else min(next_due, due)
                    break
                del idle[oldest]
                oldest.close()
        if next_due is not None:
            self._arm_sweep(next_due)

    def close(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        for state in self._origins.values():
            for conn in list(state.idle):
                conn.close()

    @property
    def idle(self) -> int:
        return sum(len(s.idle) for s in self._origins.values())

    @property
    def open_connections(self) -> int:
        """Connections open, in use or being opened, all origins."""
        return sum(s.open for s in self._origins.values())

    @property
    def waiting(self) -> int:
        """Requests waiting for a place."""
        return sum(1 for s in self._origins.values() for w in s.waiters if not w.done())
