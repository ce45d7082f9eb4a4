"""The gateway's HTTP/1.1 client against real sockets: a raw asyncio server that answers each
request as the test scripts it (sized, chunked, until close, compressed, cut short, garbage, TLS).
Every test runs on asyncio's loop and on uvloop (conftest.py)."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator

import pytest

from services.gateway.adapters.base import UpstreamRequest
from services.gateway.forwarding.http1 import (
    BadRequestHead,
    ConnectFailed,
    Disconnected,
    ProtocolError,
    ReadTimeout,
    target_of,
)
from services.gateway.forwarding.upstream import UpstreamClient
from tests.integration.gateway.http1.raw_server import Answer, client_tls, replying, server_tls, sized


@pytest.fixture
async def client() -> AsyncIterator[UpstreamClient]:
    c = UpstreamClient(2.0)
    yield c
    await c.close()


def post(url: str, body: bytes = b'{"x":1}', **headers: str) -> UpstreamRequest:
    return UpstreamRequest(url.replace("localhost", "127.0.0.1"), {"content-type": "application/json", **headers}, body)


async def test_a_sized_answer_and_the_connection_kept_for_the_next_requests(serve, client):
    server = await serve(sized(b'{"ok":true}', extra=b"Retry-After: 3\r\n"))
    for _ in range(3):
        resp = await client.open(post(server.url()))
        assert (resp.status, resp.headers["retry-after"], resp.resent) == (200, "3", False)
        assert await resp.read() == b'{"ok":true}'
    assert server.connections == 1 and client.pool.opened == 1 and client.pool.idle == 1


async def test_the_request_head_is_what_the_provider_expects(serve, client):
    server = await serve(sized(b"{}"))
    body = b'{"model":"m"}'
    req = UpstreamRequest(server.url().replace("localhost", "127.0.0.1") + "?api-version=2024-10-21",
                          {"Host": "evil", "Content-Length": "1", "authorization": "Bearer k"}, body)
    await (await client.open(req)).read()
    head, _, sent = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/chat/completions?api-version=2024-10-21 HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}".encode() in lines and b"Host: evil" not in lines
    assert b"Content-Length: 13" in lines and b"Content-Length: 1" not in lines
    assert b"Accept-Encoding: identity" in lines and b"authorization: Bearer k" in lines
    assert sent == body


async def test_a_chunked_stream_arrives_piece_by_piece(serve, client):
    go_on = asyncio.Event()

    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n")
        writer.write(b"6\r\ndata: \r\n")
        await writer.drain()
        await go_on.wait()  # the second piece only after the client has read the first
        writer.write(b"4\r\nrest\r\n0\r\n\r\n")
        await writer.drain()

    server = await serve(answer)
    resp = await client.open(post(server.url()))
    assert await asyncio.wait_for(resp.readany(), 2) == b"data: "
    go_on.set()
    assert await resp.read() == b"rest"
    assert resp.at_eof and client.pool.idle == 1


async def test_a_body_without_length_runs_until_the_provider_closes(serve, client):
    server = await serve(replying(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it", then_close=True))
    for _ in range(2):
        assert await (await client.open(post(server.url()))).read() == b"all of it"
    assert server.connections == 2 and client.pool.idle == 0  # closed answers are never reused


async def test_a_connection_the_provider_closed_while_idle_is_replaced_unseen(serve, client):
    served = 0

    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        served += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # keep-alive promised, then closed (as providers do with idle connections)

    server = await serve(answer)
    assert await (await client.open(post(server.url()))).read() == b"ok"
    await asyncio.sleep(0.05)
    assert await (await client.open(post(server.url()))).read() == b"ok"
    assert served == 2 and server.connections == 2


async def test_a_reused_connection_that_dies_unanswered_after_the_request_is_not_resent(serve, client):
    calls = 0

    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:  # the provider took the request whole (and may bill it), then closed unanswered
            writer.close()
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    server = await serve(answer)
    assert await (await client.open(post(server.url()))).read() == b"ok"
    with pytest.raises(Disconnected, match="before answering") as caught:
        await client.open(post(server.url()))
    assert caught.value.before_answer and not caught.value.unsent
    assert client.pool.resent == 0 and calls == 2 and server.connections == 1  # the forwarder's to retry, counted
    assert await (await client.open(post(server.url()))).read() == b"ok"  # the next call: a fresh connection
    assert server.connections == 2


async def test_a_fresh_connection_closed_unanswered_is_an_error_not_a_loop(serve, client):
    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await serve(answer)
    with pytest.raises(Disconnected, match="before answering") as caught:
        await client.open(post(server.url()))
    assert caught.value.before_answer and len(server.requests) == 1


async def test_an_answer_cut_short_is_an_error_not_a_clean_end(serve, client):
    server = await serve(replying(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part", then_close=True))
    resp = await client.open(post(server.url()))
    with pytest.raises(Disconnected, match="before its answer was complete"):
        await resp.read()


async def test_a_chunked_stream_cut_short_is_an_error(serve, client):
    server = await serve(replying(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
                                  then_close=True))
    resp = await client.open(post(server.url()))
    assert await resp.readany() == b"hello"
    with pytest.raises(Disconnected):
        await resp.readany()


async def test_bytes_that_are_not_http_are_a_protocol_error(serve, client):
    server = await serve(replying(b"SSH-2.0-OpenSSH_9.2\r\n\r\n"))
    with pytest.raises(ProtocolError, match="not valid HTTP/1.1"):
        await client.open(post(server.url()))


async def test_an_informational_answer_is_skipped(serve, client):
    server = await serve(replying(b"HTTP/1.1 100 Continue\r\n\r\n"
                                  b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone"))
    resp = await client.open(post(server.url()))
    assert resp.status == 201 and await resp.read() == b"done"


async def test_a_compressed_answer_is_decompressed(serve, client):
    packed = gzip.compress(b'{"answer":"' + b"x" * 5000 + b'"}')
    server = await serve(sized(packed, extra=b"Content-Encoding: gzip\r\n"))
    assert await (await client.open(post(server.url()))).read() == b'{"answer":"' + b"x" * 5000 + b'"}'


async def test_a_compressed_body_that_does_not_decompress_is_a_protocol_error_and_closes(serve, client):
    packed = gzip.compress(b'{"answer":"' + b"x" * 5000 + b'"}')
    corrupt = packed[:12] + bytes(b ^ 0xFF for b in packed[12:40]) + packed[40:]
    server = await serve(sized(corrupt, extra=b"Content-Encoding: gzip\r\n"))
    resp = await client.open(post(server.url()))
    with pytest.raises(ProtocolError, match="gzip body does not decompress"):
        await resp.read()
    with pytest.raises(ProtocolError):  # and stays failed
        await resp.readany()
    assert client.pool.idle == 0 and client.pool.open_connections == 0
    with pytest.raises(ProtocolError):
        await (await client.open(post(server.url()))).read()
    assert server.connections == 2


async def test_repeated_headers_are_all_kept(serve, client):
    server = await serve(sized(b"{}", extra=b"X-Two: a\r\nSet-Cookie: s=1\r\nx-two: b\r\nSet-Cookie: t=2\r\n"))
    resp = await client.open(post(server.url()))
    assert resp.headers["x-two"] == "a, b" and resp.headers["set-cookie"] == "t=2"  # cookies are never joined
    assert [pair for pair in resp.raw_headers if pair[0].lower() in ("x-two", "set-cookie")] == [
        ("X-Two", "a"), ("Set-Cookie", "s=1"), ("x-two", "b"), ("Set-Cookie", "t=2")]


async def test_an_unknown_encoding_is_refused(serve, client):
    server = await serve(sized(b"??", extra=b"Content-Encoding: zstd\r\n"))
    with pytest.raises(ProtocolError, match="zstd"):
        await client.open(post(server.url()))


async def test_a_big_answer_read_slowly_arrives_whole(serve, client):
    big = bytes(range(256)) * 12_000  # 3 MB: past the high-water mark, so reading pauses and resumes

    server = await serve(sized(big))
    resp = await client.open(post(server.url()))
    got = bytearray()
    while chunk := await resp.readany():
        got += chunk
        await asyncio.sleep(0.001)
    assert bytes(got) == big and client.pool.idle == 1


async def test_a_header_with_a_line_break_is_refused_without_its_value(serve, client):
    server = await serve(sized(b"{}"))
    with pytest.raises(BadRequestHead) as caught:
        await client.open(post(server.url(), authorization="Bearer sk-secret\n"))
    assert "authorization" in str(caught.value) and "sk-secret" not in str(caught.value)
    assert server.requests == []


def test_urls_that_cannot_be_requested_are_refused():
    for url, why in (("ftp://h/x", "scheme"), ("http://user:pw@h/x", "credentials"), ("http:///x", "no host"),
                     ("http://h:99999/x", "port")):
        with pytest.raises(BadRequestHead, match=why):
            target_of(url)
    t = target_of("https://[::1]:8443/v1/a b?x=1")
    assert (t.origin.host, t.origin.port, t.origin.tls) == ("::1", 8443, True)
    assert (t.host_header, t.path) == (b"[::1]:8443", b"/v1/a%20b?x=1")
    assert target_of("https://api.example.com/v1").host_header == b"api.example.com"


async def test_nothing_listening_is_a_connect_failure(client):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectFailed, match=f"127.0.0.1:{port}"):
        await client.open(post(f"http://127.0.0.1:{port}/v1/x"))


async def test_a_request_abandoned_while_waiting_never_returns_its_connection(serve, client):
    release = asyncio.Event()

    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    server = await serve(answer)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await client.open(post(server.url()))
    release.set()
    assert client.pool.idle == 0
    assert await (await client.open(post(server.url()))).read() == b"ok"
    assert server.connections == 2  # the late answer to the first never reaches the second


async def test_tls_to_a_provider_with_a_trusted_certificate(serve, ca):
    server = await serve(sized(b'{"tls":true}'), server_tls(ca))
    client = UpstreamClient(2.0, ssl_context=client_tls(ca))
    try:
        for _ in range(2):
            resp = await client.open(UpstreamRequest(server.url("https"), {}, b"{}"))
            assert await resp.read() == b'{"tls":true}'
        assert server.connections == 1
    finally:
        await client.close()


async def test_tls_to_a_provider_with_an_untrusted_certificate_fails_to_connect(serve, ca):
    server = await serve(sized(b"{}"), server_tls(ca))
    client = UpstreamClient(2.0)  # the system's CAs: the test CA is not one of them
    try:
        with pytest.raises(ConnectFailed, match="TLS"):
            await client.open(UpstreamRequest(server.url("https"), {}, b"{}"))
    finally:
        await client.close()


def chunked_then(pieces: list[bytes], gap_s: float, *, end: bool = True) -> Answer:
    """A chunked answer whose pieces come `gap_s` apart, ended or left open."""
    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in pieces:
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            await asyncio.sleep(gap_s)
        if end:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        else:
            await asyncio.sleep(30)
    return answer


async def test_silence_past_the_idle_timeout_ends_the_body(serve, client):
    server = await serve(chunked_then([b"data: 1\n\n"], 0, end=False))
    resp = await client.open(post(server.url()))
    resp.watch(0.1, asyncio.get_running_loop().time() + 60)
    assert await resp.readany() == b"data: 1\n\n"
    with pytest.raises(ReadTimeout, match=r"no data for 0.1 s \(idle timeout\)"):
        await resp.readany()


async def test_a_body_past_its_total_timeout_ends_even_while_data_keeps_coming(serve, client):
    server = await serve(chunked_then([b"x"] * 100, 0.01))
    resp = await client.open(post(server.url()))
    resp.watch(5.0, asyncio.get_running_loop().time() + 0.15)
    got = b""
    with pytest.raises(ReadTimeout, match="total timeout"):
        while chunk := await resp.readany():
            got += chunk
    assert 3 <= len(got) < 100


async def test_steady_pieces_within_the_idle_timeout_never_time_out(serve, client):
    server = await serve(chunked_then([b"a", b"b", b"c", b"d", b"e"], 0.06))
    resp = await client.open(post(server.url()))
    resp.watch(0.1, asyncio.get_running_loop().time() + 60)  # 5 gaps of 60 ms: 300 ms, each under 100
    assert await resp.read() == b"abcde"


async def test_a_stream_left_at_its_end_marker_keeps_the_connection_when_its_end_follows(serve, client):
    server = await serve(chunked_then([b"data: [DONE]\n\n"], 0.05))  # the chunked end comes 50 ms later
    resp = await client.open(post(server.url()))
    assert await resp.readany() == b"data: [DONE]\n\n"
    resp.done_reading(grace_s=1.0)
    await asyncio.sleep(0.2)
    assert client.pool.idle == 1
    assert await (await client.open(post(server.url()))).readany() == b"data: [DONE]\n\n"
    assert server.connections == 1


async def test_a_stream_left_at_its_end_marker_whose_end_never_comes_is_closed(serve, client):
    server = await serve(chunked_then([b"data: [DONE]\n\n"], 0, end=False))
    resp = await client.open(post(server.url()))
    assert await resp.readany() == b"data: [DONE]\n\n"
    resp.done_reading(grace_s=0.1)
    await asyncio.sleep(0.3)
    assert client.pool.idle == 0
    await (await client.open(post(server.url()))).readany()
    assert server.connections == 2
