"""Reaching providers: through the environment's proxies (a real forward proxy in the test: plain
http in absolute-form, https through CONNECT then TLS), NO_PROXY, a proxy that refuses (named,
its credentials never shown), and happy eyeballs (a name whose IPv6 address hangs connects over
IPv4 in a quarter second, not after the connect timeout). Both event loops (conftest.py)."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from services.gateway.adapters.base import UpstreamRequest
from services.gateway.forwarding.http1 import ConnectFailed, ConnectTimeout
from services.gateway.forwarding.upstream import UpstreamClient
from tests.integration.gateway.http1.proxy_server import ForwardProxy
from tests.integration.gateway.http1.raw_server import client_tls, server_tls, sized

BASIC = "Basic " + base64.b64encode(b"user:p@ss").decode()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment without any proxy variable; the test sets its own."""
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


@pytest.fixture
async def proxy() -> AsyncIterator[ForwardProxy]:
    p = await ForwardProxy().start()
    yield p
    p.close()


@pytest.fixture
async def clients() -> AsyncIterator[list[UpstreamClient]]:
    made: list[UpstreamClient] = []
    yield made
    for c in made:
        await c.close()


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def get(clients: list[UpstreamClient], url: str, **kwargs) -> bytes:
    if not clients:
        clients.append(UpstreamClient(2.0, **kwargs))  # made now: it reads the environment's proxies
    return await (await clients[0].open(UpstreamRequest(url, {}, b"{}"))).read()


async def test_an_http_target_goes_through_http_proxy_in_absolute_form_with_its_credentials(
        serve, proxy, env, clients):
    server = await serve(sized(b'{"via":"proxy"}'))
    proxy.required_authorization = BASIC
    env.setenv("HTTP_PROXY", f"http://user:p%40ss@127.0.0.1:{proxy.port}")
    for _ in range(2):
        assert await get(clients, f"http://127.0.0.1:{server.port}/v1/chat/completions") == b'{"via":"proxy"}'
    head = proxy.heads[0]
    assert head.startswith(f"POST http://127.0.0.1:{server.port}/v1/chat/completions HTTP/1.1\r\n".encode())
    assert f"Proxy-Authorization: {BASIC}\r\n".encode() in head
    assert (proxy.connections, server.connections, len(server.requests)) == (1, 1, 2)  # kept alive through it


async def test_an_https_target_goes_through_a_connect_tunnel_then_tls(serve, proxy, env, clients, ca):
    server = await serve(sized(b'{"tunnel":true}'), server_tls(ca))
    proxy.required_authorization = BASIC
    env.setenv("HTTPS_PROXY", f"http://user:p%40ss@127.0.0.1:{proxy.port}")
    env.setenv("HTTP_PROXY", f"http://127.0.0.1:{dead_port()}")  # for http targets only
    for _ in range(2):
        assert await get(clients, server.url("https"), ssl_context=client_tls(ca)) == b'{"tunnel":true}'
    head = proxy.heads[0]
    assert head.startswith(f"CONNECT localhost:{server.port} HTTP/1.1\r\n".encode())
    assert f"Proxy-Authorization: {BASIC}\r\n".encode() in head
    assert (proxy.connections, server.connections, len(server.requests)) == (1, 1, 2)
    assert server.requests[0].startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")  # origin-form inside


async def test_no_proxy_hosts_and_the_lower_case_names(serve, proxy, env, clients):
    server = await serve(sized(b"direct"))
    env.setenv("http_proxy", f"http://127.0.0.1:{proxy.port}")
    env.setenv("HTTP_PROXY", f"http://127.0.0.1:{dead_port()}")  # the lower-case one wins
    env.setenv("NO_PROXY", "example.com,127.0.0.1")
    assert await get(clients, f"http://127.0.0.1:{server.port}/v1/x") == b"direct"
    assert proxy.connections == 0
    assert await get(clients, f"http://localhost:{server.port}/v1/x") == b"direct"  # not listed: proxied
    assert proxy.connections == 1


async def test_a_proxy_refusing_connect_is_a_connect_failure_naming_it_not_its_credentials(
        serve, proxy, env, clients, ca):
    server = await serve(sized(b"{}"), server_tls(ca))
    proxy.refuse_connect = True
    env.setenv("HTTPS_PROXY", f"http://user:hunter2@127.0.0.1:{proxy.port}")
    with pytest.raises(ConnectFailed) as caught:
        await get(clients, server.url("https"), ssl_context=client_tls(ca))
    message = str(caught.value)
    assert message == (f"proxy 127.0.0.1:{proxy.port} refused to tunnel to localhost:{server.port}: "
                       "HTTP 403 Forbidden")
    assert server.connections == 0 and clients[0].pool.open_connections == 0


async def test_a_proxy_asking_for_credentials_it_was_not_given(serve, proxy, env, clients, ca):
    server = await serve(sized(b"{}"), server_tls(ca))
    proxy.required_authorization = BASIC
    env.setenv("HTTPS_PROXY", f"127.0.0.1:{proxy.port}")  # no scheme: http:// as urllib reads it
    with pytest.raises(ConnectFailed, match="HTTP 407 Proxy Authentication Required"):
        await get(clients, server.url("https"), ssl_context=client_tls(ca))


async def test_an_unreachable_or_unsupported_proxy_is_named_without_credentials(env):
    port = dead_port()
    env.setenv("HTTPS_PROXY", f"http://user:hunter2@127.0.0.1:{port}")
    env.setenv("HTTP_PROXY", "socks5://user:hunter2@127.0.0.1:1080")
    client = UpstreamClient(2.0)
    try:
        with pytest.raises(ConnectFailed) as refused:
            await client.open(UpstreamRequest("https://provider.example/v1/x", {}, b"{}"))
        with pytest.raises(ConnectFailed) as unsupported:
            await client.open(UpstreamRequest("http://provider.example/v1/x", {}, b"{}"))
    finally:
        await client.close()
    assert str(refused.value).startswith(f"cannot connect to proxy 127.0.0.1:{port}: ")
    assert "socks5:// proxy; only http:// proxies are supported" in str(unsupported.value)
    assert "hunter2" not in str(refused.value) + str(unsupported.value)
    assert "user" not in str(refused.value) + str(unsupported.value)


@pytest.fixture
def hanging_ipv6() -> Iterator[int]:
    """A port on ::1 whose connects hang (its accept queue is full: the kernel drops new SYNs)."""
    listener = socket.socket(socket.AF_INET6)
    listener.bind(("::1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("::1", port))
    yield port
    filler.close()
    listener.close()


def resolve(monkeypatch: pytest.MonkeyPatch, name: str, addresses: list[tuple[int, tuple]]) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == name:
            return [(family, socket.SOCK_STREAM, 6, "", address) for family, address in addresses]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


async def test_a_name_whose_ipv6_address_hangs_connects_over_ipv4_in_a_quarter_second(
        serve, hanging_ipv6, monkeypatch, clients):
    server = await serve(sized(b"over ipv4"))
    resolve(monkeypatch, "dual-stack.test", [(socket.AF_INET6, ("::1", hanging_ipv6, 0, 0)),
                                             (socket.AF_INET, ("127.0.0.1", server.port))])
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await get(clients, f"http://dual-stack.test:{server.port}/v1/x") == b"over ipv4"
    took = loop.time() - started
    assert 0.2 <= took < 1.0  # IPv6 first, given a quarter second; never the 2 s connect timeout
    assert server.requests[0].startswith(b"POST /v1/x HTTP/1.1\r\nHost: dual-stack.test:")


async def test_a_name_whose_addresses_all_hang_is_a_connect_timeout(hanging_ipv6, monkeypatch):
    resolve(monkeypatch, "nowhere.test", [(socket.AF_INET6, ("::1", hanging_ipv6, 0, 0))])
    client = UpstreamClient(0.5)
    try:
        with pytest.raises(ConnectTimeout, match="nowhere.test:80 within 0.5 s"):
            await client.open(UpstreamRequest("http://nowhere.test/v1/x", {}, b"{}"))
        assert client.pool.open_connections == 0
    finally:
        await client.close()
