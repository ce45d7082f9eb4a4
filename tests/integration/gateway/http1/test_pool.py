"""The pool's promises on real sockets, both event loops: a request goes out a second time only
when its connection never took it whole (and then once, on a fresh connection); idle connections
are retired after the keep-alive; at most N connections per origin, the others waiting their turn
in order, and a wait given up never loses a connection or a place."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from services.gateway.forwarding.http1 import ConnectionPool, Disconnected, target_of
from tests.integration.gateway.http1.raw_server import Answer, RawServer, sized

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
BIG = b"x" * (32 * 1024 * 1024)  # more than loopback's socket buffers take: the write waits in the transport


@pytest.fixture
async def pool() -> AsyncIterator[ConnectionPool]:
    p = ConnectionPool(keepalive_s=30.0)
    yield p
    p.close()


async def call(pool: ConnectionPool, port: int, body: bytes = b"{}"):
    return await pool.request("POST", target_of(f"http://127.0.0.1:{port}/v1/x"), {}, body, 2.0)


async def raw_listener(handle) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, int]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.startswith(b"Content-Length"))
    return head, length


async def test_a_request_its_connection_never_took_whole_is_sent_once_more_on_a_fresh_one():
    connections = 0
    whole: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        _, length = await read_request(reader)
        if connections == 1:  # gone with most of the body unread: the client still had bytes to write
            writer.transport.abort()
            return
        whole.append(len(await reader.readexactly(length)))
        writer.write(OK)
        await writer.drain()

    server, port = await raw_listener(handle)
    pool = ConnectionPool(max_connections_per_origin=1)  # the fresh connection needs the dead one's place
    try:
        resp = await call(pool, port, BIG)
        assert (resp.status, await resp.read(), resp.resent) == (200, b"ok", True)
        assert (connections, whole, pool.resent, pool.opened) == (2, [len(BIG)], 1, 2)
        assert (pool.idle, pool.open_connections) == (1, 1)  # the dead one's place went to the fresh one
    finally:
        pool.close()
        server.close()


async def test_a_request_never_taken_whole_twice_is_an_error_after_one_resend():
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.transport.abort()

    server, port = await raw_listener(handle)
    pool = ConnectionPool()
    try:
        with pytest.raises(Disconnected, match="before the request was fully sent") as caught:
            await call(pool, port, BIG)
        assert caught.value.unsent and caught.value.before_answer
        assert (connections, pool.resent, pool.open_connections) == (2, 1, 0)
    finally:
        pool.close()
        server.close()


async def test_a_connection_already_closing_refuses_the_request_as_unsent(serve, pool):
    server = await serve(sized(b"ok"))
    assert await (await call(pool, server.port)).read() == b"ok"
    (state,) = pool._origins.values()
    (conn,) = state.idle
    conn.transport.close()  # closing, connection_lost not yet run
    with pytest.raises(Disconnected) as caught:
        conn.send(b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", b"")
    assert caught.value.unsent and conn.closed and len(server.requests) == 1
    assert pool.idle == 0 and pool.open_connections == 0


async def test_idle_connections_are_closed_by_the_pool_after_the_keepalive():
    loop = asyncio.get_running_loop()
    closed_at: list[float] = []
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while True:
                await read_request(reader)
                writer.write(OK)
                await writer.drain()
        except asyncio.IncompleteReadError:
            closed_at.append(loop.time())  # the client closed it

    server, port = await raw_listener(handle)
    pool = ConnectionPool(keepalive_s=0.2)
    try:
        assert await (await call(pool, port)).read() == b"ok"
        idle_from = loop.time()
        assert pool.idle == 1
        await asyncio.sleep(0.45)  # no request meanwhile: only the pool's own timer can close it
        assert (pool.idle, pool.open_connections) == (0, 0)
        assert len(closed_at) == 1 and 0.15 <= closed_at[0] - idle_from < 0.45
        assert await (await call(pool, port)).read() == b"ok"
        assert connections == 2
    finally:
        pool.close()
        server.close()


async def test_a_connection_idle_past_the_keepalive_is_never_reused_even_before_the_timer(serve):
    server = await serve(sized(b"ok"))
    pool = ConnectionPool(keepalive_s=0.05)
    try:
        assert await (await call(pool, server.port)).read() == b"ok"
        (state,) = pool._origins.values()
        (conn,) = state.idle
        conn.idle_since -= 1.0  # as if idle a second: the take-time check retires it
        assert await (await call(pool, server.port)).read() == b"ok"
        assert server.connections == 2 and conn.closed
    finally:
        pool.close()


async def test_a_server_that_announces_a_longer_keepalive_keeps_its_connections_that_long(serve):
    server = await serve(sized(b"ok", extra=b"Keep-Alive: timeout=3\r\n"))
    pool = ConnectionPool(keepalive_s=0.1)  # what a silent server would get
    try:
        assert await (await call(pool, server.port)).read() == b"ok"
        (state,) = pool._origins.values()
        assert state.keepalive_s == 2.0  # a second before the server's 3
        await asyncio.sleep(0.4)  # four times the default: kept all the same
        assert pool.idle == 1
        assert await (await call(pool, server.port)).read() == b"ok"
        assert server.connections == 1
    finally:
        pool.close()


async def test_a_server_that_announces_a_short_keepalive_has_its_connections_retired_sooner(serve):
    server = await serve(sized(b"ok", extra=b"Keep-Alive: timeout=0.2, max=100\r\n"))
    pool = ConnectionPool(keepalive_s=30.0)
    try:
        assert await (await call(pool, server.port)).read() == b"ok"
        await asyncio.sleep(0.35)  # past half the server's 0.2 s (too short to keep a second's margin)
        assert (pool.idle, pool.open_connections) == (0, 0)
        assert await (await call(pool, server.port)).read() == b"ok"
        assert server.connections == 2
    finally:
        pool.close()


def held_answers() -> tuple[Answer, asyncio.Event, list[int]]:
    """Answers only once `go` is set; `order` is the order the requests (numbered bodies) arrived in."""
    go = asyncio.Event()
    order: list[int] = []

    async def answer(request: bytes, writer: asyncio.StreamWriter) -> None:
        order.append(int(request.rpartition(b"\r\n\r\n")[2]))
        await go.wait()
        writer.write(OK)
        await writer.drain()

    return answer, go, order


async def test_requests_beyond_the_cap_wait_their_turn_in_order(serve):
    answer, go, order = held_answers()
    server = await serve(answer)
    pool = ConnectionPool(max_connections_per_origin=2)

    async def one(i: int) -> bytes:
        return await (await call(pool, server.port, b"%d" % i)).read()

    try:
        tasks = []
        for i in range(6):
            tasks.append(asyncio.create_task(one(i)))
            await asyncio.sleep(0.01)  # started in order
        assert (server.connections, pool.open_connections, pool.waiting) == (2, 2, 4)
        go.set()
        assert await asyncio.gather(*tasks) == [b"ok"] * 6
        assert [sorted(order[i:i + 2]) for i in (0, 2, 4)] == [[0, 1], [2, 3], [4, 5]]  # two at a time, in turn
        assert server.connections == 2 and pool.opened == 2
    finally:
        pool.close()


async def busy_with_one_place(serve, answer: Answer) -> tuple[RawServer, ConnectionPool, asyncio.Task]:
    """A pool of one connection per origin, that connection busy with a first request."""
    server = await serve(answer)
    pool = ConnectionPool(max_connections_per_origin=1)
    first = asyncio.create_task(call(pool, server.port, b"1"))
    await asyncio.sleep(0.05)
    return server, pool, first


async def test_a_wait_given_up_takes_no_place_with_it(serve):
    answer, go, _ = held_answers()
    server, pool, first = await busy_with_one_place(serve, answer)
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):  # the forwarder's own timeout bounds the wait
                await call(pool, server.port, b"2")
        assert (pool.waiting, pool.open_connections) == (0, 1)
        go.set()
        assert await (await first).read() == b"ok"
        assert await (await call(pool, server.port, b"3")).read() == b"ok"
        assert server.connections == 1 and len(server.requests) == 2
    finally:
        pool.close()


async def test_a_connection_handed_to_a_wait_cancelled_that_instant_goes_to_the_next(serve):
    answer, go, _ = held_answers()
    server, pool, first = await busy_with_one_place(serve, answer)
    try:
        second = asyncio.create_task(call(pool, server.port, b"2"))
        await asyncio.sleep(0.05)
        assert pool.waiting == 1
        go.set()
        assert await (await first).read() == b"ok"  # read to its end: handed to `second` right then
        second.cancel()  # before `second` ran again
        with pytest.raises(asyncio.CancelledError):
            await second
        assert (pool.idle, pool.open_connections, pool.waiting) == (1, 1, 0)
        assert await (await call(pool, server.port, b"3")).read() == b"ok"
        assert server.connections == 1
    finally:
        pool.close()


async def test_a_place_handed_to_a_wait_cancelled_that_instant_is_freed(serve):
    go = asyncio.Event()

    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        await go.wait()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()  # the client closes it, when the answer is read

    server, pool, first = await busy_with_one_place(serve, answer)
    try:
        second = asyncio.create_task(call(pool, server.port))
        await asyncio.sleep(0.05)
        go.set()
        assert await (await first).read() == b"ok"  # closed at its end: its place handed to `second`
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second
        assert (pool.open_connections, pool.waiting) == (0, 0)
        assert await (await call(pool, server.port)).read() == b"ok"
    finally:
        pool.close()
