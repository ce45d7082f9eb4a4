"""The control plane's httpx client on the gateway's HTTP/1.1 client: requests arrive as httpx
would send them, answers read the httpx way, connections kept, and failures as httpx's own errors
(the shipper, followers and reporter catch those)."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from services.gateway.forwarding.http1.httpx_transport import Http1Transport
from tests.integration.gateway.http1.raw_server import replying, sized


@pytest.fixture
async def http():
    client = httpx.AsyncClient(transport=Http1Transport(), timeout=2.0, headers={"x-admin-key": "k"})
    yield client
    await client.aclose()


async def test_a_get_with_params_and_a_post_arrive_as_sent_on_one_connection(serve, http):
    server = await serve(sized(b'{"version":3}', extra=b"Content-Type: application/json\r\n"))
    base = f"http://127.0.0.1:{server.port}"
    got = await http.get(base + "/registry/snapshot", params={"after": 2, "wait": 20})
    assert got.status_code == 200 and got.json() == {"version": 3}
    posted = await http.post(base + "/receipts", content=b'{"receipts":[]}',
                             headers={"content-type": "application/json"})
    assert posted.status_code == 200
    first, second = server.requests
    assert first.startswith(b"GET /registry/snapshot?after=2&wait=20 HTTP/1.1\r\n")
    assert b"x-admin-key: k" in first and b"Content-Length: 0" in first
    assert second.startswith(b"POST /receipts HTTP/1.1\r\n") and second.endswith(b'{"receipts":[]}')
    assert server.connections == 1


async def test_an_error_status_is_an_answer_raise_for_status_can_read(serve, http):
    server = await serve(sized(b'{"error":{"type":"invalid_request"}}', status=400))
    resp = await http.post(f"http://127.0.0.1:{server.port}/receipts", content=b"{}")
    assert resp.status_code == 400 and resp.json()["error"]["type"] == "invalid_request"
    with pytest.raises(httpx.HTTPStatusError):
        resp.raise_for_status()


async def test_repeated_headers_reach_httpx_one_by_one(serve, http):
    server = await serve(sized(b"{}", extra=b"Set-Cookie: s=1\r\nSet-Cookie: t=2\r\nX-Two: a\r\nX-Two: b\r\n"))
    resp = await http.get(f"http://127.0.0.1:{server.port}/x")
    assert resp.headers.get_list("set-cookie") == ["s=1", "t=2"] and resp.headers.get_list("x-two") == ["a", "b"]


async def test_an_answer_slower_than_the_read_timeout_is_httpx_read_timeout(serve, http):
    async def late(_: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(1)

    server = await serve(late)
    with pytest.raises(httpx.ReadTimeout):
        await http.get(f"http://127.0.0.1:{server.port}/x", timeout=0.1)


async def test_nobody_listening_is_httpx_connect_error(http):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(httpx.ConnectError):
        await http.get(f"http://127.0.0.1:{port}/x")


async def test_an_answer_cut_short_is_an_httpx_protocol_error(serve, http):
    server = await serve(replying(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\npart", then_close=True))
    with pytest.raises(httpx.RemoteProtocolError):
        await http.get(f"http://127.0.0.1:{server.port}/x")


async def test_a_streamed_answer_reads_piece_by_piece(serve, http):
    server = await serve(replying(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  b"3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"))
    async with http.stream("GET", f"http://127.0.0.1:{server.port}/s") as resp:
        assert b"".join([chunk async for chunk in resp.aiter_raw()]) == b"abcdef"
