"""One contract for the hot path's two HTTP clients to providers, the gateway's own (`http1`) and
aiohttp's (`aiohttp_upstream.py`), each made as the gateway makes it (`make_upstream`): what the
forwarder and the stream relay rely on, against real local servers (raw asyncio ones that answer
as each test scripts). Either client may serve the gateway only while it passes every case."""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from services.common.settings import Settings
from services.gateway.adapters.base import UpstreamRequest
from services.gateway.forwarding.http1 import ConnectFailed, Disconnected, ProtocolError, ReadTimeout
from services.gateway.forwarding.upstream import UpstreamClient, make_upstream
from tests.integration.gateway.http1.raw_server import Answer, RawServer, replying, sized, start_raw_server

Serve = Callable[[Answer], Awaitable[RawServer]]
SSE_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n"


@pytest.fixture(params=["http1", "aiohttp"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[UpstreamClient]:
    c = make_upstream(Settings(upstream_client=request.param, upstream_connect_timeout_s=2.0))
    await c.start()
    yield c
    await c.close()


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[asyncio.Server] = []

    async def start(answer: Answer) -> RawServer:
        raw = await start_raw_server(answer)
        servers.append(raw.server)
        return raw

    yield start
    for s in servers:
        s.close()


def post(server: RawServer) -> UpstreamRequest:
    return UpstreamRequest(server.url().replace("localhost", "127.0.0.1"),
                           {"content-type": "application/json", "authorization": "Bearer k"}, b'{"model":"m"}')


def chunk(piece: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(piece), piece)


async def settle() -> None:
    await asyncio.sleep(0.05)  # a connection given back or closed has reached the pool and the server


async def test_a_plain_json_answer(serve, client):
    server = await serve(sized(b'{"ok":true}', extra=b"Content-Type: application/json\r\n"))
    resp = await client.open(post(server))
    assert (resp.status, resp.headers["content-type"], resp.headers["content-length"]) == (200, "application/json",
                                                                                            "11")
    assert await resp.read() == b'{"ok":true}' and resp.at_eof
    head = server.requests[0].partition(b"\r\n\r\n")[0].lower().split(b"\r\n")
    assert head[0] == b"post /v1/chat/completions http/1.1"
    assert b"accept-encoding: identity" in head and b"authorization: bearer k" in head
    assert server.requests[0].endswith(b'\r\n\r\n{"model":"m"}')


async def test_a_chunked_body_arrives_whole(serve, client):
    server = await serve(replying(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  + chunk(b'{"a":') + chunk(b'"b"}') + b"0\r\n\r\n"))
    resp = await client.open(post(server))
    assert await resp.read() == b'{"a":"b"}'


async def test_a_streamed_sse_answer_is_read_piece_by_piece(serve, client):
    go_on = asyncio.Event()

    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEAD + chunk(b"data: 1\n\n"))
        await writer.drain()
        await go_on.wait()  # the next event only once the client has read the first
        writer.write(chunk(b"data: 2\n\n") + chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        await writer.drain()

    server = await serve(answer)
    resp = await client.open(post(server))
    assert resp.headers["content-type"] == "text/event-stream"
    assert await asyncio.wait_for(resp.readany(), 2) == b"data: 1\n\n"
    go_on.set()
    got = b""
    while b"[DONE]" not in got:
        got += await asyncio.wait_for(resp.readany(), 2)
    assert got == b"data: 2\n\ndata: [DONE]\n\n"
    assert await resp.readany() == b"" and resp.at_eof


async def test_a_gzip_body_is_decoded(serve, client):
    text = b'{"answer":"' + b"x" * 5000 + b'"}'
    server = await serve(sized(gzip.compress(text), extra=b"Content-Encoding: gzip\r\n"))
    assert await (await client.open(post(server))).read() == text


async def test_a_corrupt_gzip_body_is_a_protocol_error(serve, client):
    server = await serve(sized(b"this was never gzip", extra=b"Content-Encoding: gzip\r\n"))
    resp = await client.open(post(server))
    with pytest.raises(ProtocolError):
        await resp.read()


async def test_a_refused_connection_is_a_connect_failure(client):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the socket is closed
    with pytest.raises(ConnectFailed, match=f"127.0.0.1:{port}"):
        await client.open(UpstreamRequest(f"http://127.0.0.1:{port}/v1/chat/completions", {}, b"{}"))


async def test_a_server_that_closes_mid_body_is_a_disconnect(serve, client):
    server = await serve(replying(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part", then_close=True))
    resp = await client.open(post(server))
    with pytest.raises(Disconnected):
        await resp.read()


async def test_a_chunked_stream_cut_short_is_a_disconnect(serve, client):
    server = await serve(replying(SSE_HEAD + chunk(b"data: 1\n\n"), then_close=True))
    resp = await client.open(post(server))
    with pytest.raises(Disconnected):
        while await resp.readany():
            pass


async def test_silence_past_the_idle_timeout_is_a_read_timeout(serve, client):
    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEAD + chunk(b"data: 1\n\n"))
        await writer.drain()
        await asyncio.sleep(30)  # then nothing

    server = await serve(answer)
    resp = await client.open(post(server))
    loop = asyncio.get_running_loop()
    resp.watch(0.1, loop.time() + 60)
    assert await resp.readany() == b"data: 1\n\n"
    started = loop.time()
    with pytest.raises(ReadTimeout, match="idle timeout"):
        await resp.readany()
    assert loop.time() - started < 1.0
    resp.close()


async def test_pieces_within_the_idle_timeout_and_a_body_past_its_total(serve, client):
    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEAD)
        for _ in range(40):
            writer.write(chunk(b"x"))
            await writer.drain()
            await asyncio.sleep(0.02)
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    server = await serve(answer)
    resp = await client.open(post(server))
    resp.watch(1.0, asyncio.get_running_loop().time() + 10)  # 20 ms gaps, 1 s idle: room for a loaded machine
    assert await resp.read() == b"x" * 40
    resp = await client.open(post(server))
    resp.watch(5.0, asyncio.get_running_loop().time() + 0.2)
    with pytest.raises(ReadTimeout, match="total timeout"):
        await resp.read()
    resp.close()


async def test_keep_alive_the_second_request_opens_no_connection(serve, client):
    server = await serve(sized(b'{"ok":true}'))
    for _ in range(3):
        assert await (await client.open(post(server))).read() == b'{"ok":true}'
        await settle()
    assert client.pool.opened == 1 and client.pool.idle == 1 and server.connections == 1
    assert client.pool.resent == 0


async def test_a_kept_connection_the_provider_closes_leaves_the_pool_unseen(serve, client):
    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # keep-alive promised, then closed (as providers do with idle connections)

    server = await serve(answer)
    assert await (await client.open(post(server))).read() == b"ok"
    await settle()
    assert client.pool.idle == 0
    assert await (await client.open(post(server))).read() == b"ok"
    assert len(server.requests) == server.connections == client.pool.opened == 2 and client.pool.resent == 0


async def test_release_keeps_a_whole_answer_s_connection_and_closes_an_unfinished_one(serve, client):
    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234")
        await writer.drain()
        await asyncio.sleep(0.1)  # the rest comes later
        writer.write(b"56789")
        await writer.drain()

    server = await serve(answer)
    resp = await client.open(post(server))
    assert await resp.read() == b"0123456789"
    resp.release()
    await settle()
    assert client.pool.idle == 1
    resp = await client.open(post(server))  # the kept connection
    assert client.pool.opened == 1
    resp.release()  # the answer not yet whole: its connection cannot carry another request
    await settle()
    assert client.pool.idle == 0
    assert await (await client.open(post(server))).read() == b"0123456789"
    assert client.pool.opened == 2 and server.connections == 2


async def test_close_mid_stream_cancels_it_upstream(serve, client):
    cancelled = asyncio.Event()

    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEAD)
        try:
            for _ in range(500):
                writer.write(chunk(b"data: more\n\n"))
                await writer.drain()
                await asyncio.sleep(0.01)
        except ConnectionError:
            cancelled.set()
            writer.close()

    server = await serve(answer)
    resp = await client.open(post(server))
    assert (await resp.readany()).startswith(b"data: more")
    resp.close()
    await asyncio.wait_for(cancelled.wait(), 3)  # the provider sees the stream's connection go
    await settle()
    assert client.pool.idle == 0


def end_marker_then_end(after_s: float) -> Answer:
    """A stream's end marker, then its chunked end `after_s` later."""
    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEAD + chunk(b"data: [DONE]\n\n"))
        await writer.drain()
        await asyncio.sleep(after_s)
        writer.write(b"0\r\n\r\n")
        await writer.drain()
    return answer


@pytest.mark.parametrize(("end_after_s", "grace_s", "kept"), [(0.05, 1.0, True), (30, 0.1, False)],
                         ids=["end-follows", "end-never-comes"])
async def test_done_reading_at_the_end_marker_keeps_the_connection_only_if_the_end_follows(
        serve, client, end_after_s, grace_s, kept):
    server = await serve(end_marker_then_end(end_after_s))
    resp = await client.open(post(server))
    assert await resp.readany() == b"data: [DONE]\n\n"
    resp.done_reading(grace_s=grace_s)
    await asyncio.sleep(0.3)
    assert client.pool.idle == (1 if kept else 0)
    assert await (await client.open(post(server))).readany() == b"data: [DONE]\n\n"
    assert server.connections == client.pool.opened == (1 if kept else 2)


async def test_repeated_response_headers_are_joined(serve, client):
    server = await serve(sized(b"{}", extra=b"X-Two: a\r\nx-two: b\r\nVary: accept\r\nVary: origin\r\n"))
    resp = await client.open(post(server))
    assert (resp.headers["x-two"], resp.headers["vary"]) == ("a, b", "accept, origin")
    await resp.read()
