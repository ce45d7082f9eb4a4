"""`close=1` on a real server: each answer arrives whole, with no `Connection: close`, and then the
connection is closed under the client; without it the connection stays open for the next request.
The simulator counts every call it received (`GET /requests`)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.integration.simulator.conftest import make_app, serve

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve(make_app()) as url:
        yield url


def connect(base_url: str) -> http.client.HTTPConnection:
    parts = urlsplit(base_url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)


def ask(conn: http.client.HTTPConnection, spec: str, *, stream: bool = False) -> tuple[bytes, str | None]:
    conn.request("POST", f"/sim/{spec}/v1/chat/completions", json.dumps({**BODY, "stream": stream}),
                 {"content-type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200
    return resp.read(), resp.getheader("connection")


def closed_by_server(conn: http.client.HTTPConnection) -> bool:
    assert conn.sock is not None
    conn.sock.settimeout(2)
    try:
        return conn.sock.recv(1) == b""
    except TimeoutError:
        return False  # still open, silent
    except ConnectionResetError:
        return True


@pytest.mark.parametrize("stream", [False, True])
def test_close_ends_the_connection_after_a_whole_answer_without_saying_so(base_url, stream):
    spec = f"close=1,tokens=3,tps=0,seed={int(stream)}"
    conn = connect(base_url)
    try:
        body, connection = ask(conn, spec, stream=stream)
        assert connection is None  # nothing told the client the connection would end
        assert (b"data: [DONE]" in body) if stream else json.loads(body)["choices"][0]["message"]["content"]
        assert closed_by_server(conn)
    finally:
        conn.close()
    assert httpx.get(base_url + "/requests").json()["by_spec"][spec] == 1


def test_without_close_the_connection_is_kept_for_the_next_request(base_url):
    conn = connect(base_url)
    try:
        ask(conn, "tokens=3,tps=0")
        sock = conn.sock
        assert not closed_by_server(conn)
        ask(conn, "tokens=3,tps=0")
        assert conn.sock is sock  # the same connection carried both
    finally:
        conn.close()


def test_a_bad_spec_is_answered_not_closed_by_the_middleware(base_url):
    resp = httpx.post(base_url + "/sim/close=maybe/v1/chat/completions", json=BODY)
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "close"

