"""Which proxy the gateway's HTTP/1.1 client takes to an origin (HTTP_PROXY, HTTPS_PROXY, NO_PROXY,
as urllib reads them), what a proxy URL gives (credentials as a header, never shown), the request
head a proxy gets, the settings behind the upstream pool, and happy eyeballs' address order."""

from __future__ import annotations

import base64
import socket

import pytest

from services.common.settings import Settings
from services.gateway.forwarding.http1.dial import _interleave
from services.gateway.forwarding.http1.head import Origin, request_head, target_of
from services.gateway.forwarding.http1.proxy import Proxies, Proxy, parse_proxy
from services.gateway.forwarding.upstream import UpstreamClient

HTTP = Origin("http", "api.example.com", 80)
HTTPS = Origin("https", "api.example.com", 443)


def test_each_scheme_takes_its_own_proxy_and_no_proxy_goes_direct():
    proxies = Proxies({"http": "http://plain:3128", "https": "http://tunnel:8080", "no": "internal.test, .corp"})
    assert proxies.route(HTTP) == Proxy("plain", 3128)
    assert proxies.route(HTTPS) == Proxy("tunnel", 8080)
    assert proxies.route(Origin("https", "llm.internal.test", 443)) is None  # a domain covers its subdomains
    assert proxies.route(Origin("http", "a.corp", 80)) is None
    assert Proxies({"https": "http://tunnel:8080"}).route(HTTP) is None  # no http proxy: http goes direct
    assert Proxies({"https": "http://tunnel:8080", "no": "*"}).route(HTTPS) is None


def test_the_environment_is_read_as_urllib_reads_it(monkeypatch: pytest.MonkeyPatch):
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    assert Proxies.from_environment() is None
    monkeypatch.setenv("HTTPS_PROXY", "http://upper:1")
    monkeypatch.setenv("https_proxy", "http://lower:2")
    monkeypatch.setenv("NO_PROXY", "api.example.com")
    proxies = Proxies.from_environment()
    assert proxies is not None
    assert proxies.route(Origin("https", "other.example.com", 443)) == Proxy("lower", 2)
    assert proxies.route(HTTPS) is None


def test_a_proxy_url_credentials_become_a_header_and_are_never_shown():
    proxy = parse_proxy("http://us%40er:p%3Ass@proxy.corp:3128", "https_proxy")
    assert base64.b64decode(proxy.authorization.removeprefix(b"Basic ")) == b"us@er:p:ss"
    assert (proxy.shown, proxy.problem) == ("proxy.corp:3128", "")
    assert "us" not in proxy.shown and "ss" not in proxy.shown
    assert parse_proxy("proxy.corp", "http_proxy") == Proxy("proxy.corp", 80)  # no scheme: http, port 80


def test_proxies_the_client_cannot_speak_to_say_why():
    assert "only http:// proxies" in parse_proxy("https://proxy:443", "https_proxy").problem
    assert "socks5://" in parse_proxy("socks5://proxy:1080", "https_proxy").problem
    assert "bad port" in parse_proxy("http://proxy:99999", "http_proxy").problem


def test_a_request_to_a_proxy_names_the_whole_url_and_carries_its_credentials():
    target = target_of("http://api.example.com:8080/v1/chat?x=1")
    head = request_head("POST", target, {"proxy-authorization": "Basic caller's", "x-k": "v"}, 2, absolute=True,
                        proxy_authorization=b"Basic abc")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST http://api.example.com:8080/v1/chat?x=1 HTTP/1.1"
    assert b"Host: api.example.com:8080" in lines and b"Proxy-Authorization: Basic abc" in lines
    assert b"proxy-authorization: Basic caller's" not in lines and b"x-k: v" in lines
    assert request_head("POST", target, {}, 0).startswith(b"POST /v1/chat?x=1 HTTP/1.1\r\n")


def test_the_upstream_pool_takes_its_keepalive_and_cap_from_the_settings(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TOLLWAY_UPSTREAM_KEEPALIVE_S", raising=False)
    monkeypatch.delenv("TOLLWAY_UPSTREAM_MAX_CONNECTIONS_PER_ORIGIN", raising=False)
    assert (Settings().upstream_keepalive_s, Settings().upstream_max_connections_per_origin) == (4.0, 256)
    monkeypatch.setenv("TOLLWAY_UPSTREAM_KEEPALIVE_S", "2.5")
    monkeypatch.setenv("TOLLWAY_UPSTREAM_MAX_CONNECTIONS_PER_ORIGIN", "8")
    pool = UpstreamClient(1.0).pool
    assert (pool.keepalive_s, pool.max_connections_per_origin) == (2.5, 8)
    pool = UpstreamClient(1.0, settings=Settings(upstream_keepalive_s=1.5, upstream_max_connections_per_origin=3)).pool
    assert (pool.keepalive_s, pool.max_connections_per_origin) == (1.5, 3)


def test_happy_eyeballs_alternates_address_families_starting_with_the_first():
    v6 = [(socket.AF_INET6, 1, 6, "", (f"::{i}", 443, 0, 0)) for i in (1, 2, 3)]
    v4 = [(socket.AF_INET, 1, 6, "", (f"10.0.0.{i}", 443)) for i in (1, 2)]
    ordered = _interleave([*v6, *v4])
    assert [info[4][0] for info in ordered] == ["::1", "10.0.0.1", "::2", "10.0.0.2", "::3"]
