"""The client API's request headers, read in one pass: run, agent, strategy, the client's key
(bearer or X-Api-Key), the cache controls; bad values refused with the header's name."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from services.common.errors import InvalidRequest
from services.gateway.api.headers import ClientHeaders


def headers(*pairs: tuple[str, str]) -> ClientHeaders:
    scope = {"type": "http", "headers": [(k.lower().encode(), v.encode()) for k, v in pairs]}
    return ClientHeaders.of(Request(scope))


def test_every_header_the_gateway_reads_in_one_pass():
    got = headers(("Content-Type", "application/json"), ("X-Tollway-Run", "r-1"), ("X-Tollway-Agent", "bot"),
                  ("X-Tollway-Optimization", "latency"), ("Authorization", "Bearer tw-abc"),
                  ("Cache-Control", "no-store"), ("X-Tollway-Cache-TTL", "60"))
    assert (got.run_id("default"), got.agent_name("a"), got.strategy()) == ("r-1", "bot", "latency")
    assert got.credential == "tw-abc"
    assert got.cache == {"cache-control": "no-store", "x-tollway-cache-ttl": "60"}


def test_defaults_when_absent_and_the_key_from_x_api_key():
    got = headers(("x-api-key", "sk-ant"), ("authorization", "Basic Zm9vOmJhcg=="))
    assert (got.run_id("default"), got.agent_name("agent"), got.strategy()) == ("default", "agent", None)
    assert got.credential == "sk-ant"  # a non-bearer Authorization is not a key
    assert headers().credential is None and headers().cache == {}


@pytest.mark.parametrize(("name", "value", "read"), [
    ("X-Tollway-Run", "../etc", lambda h: h.run_id("d")),
    ("X-Tollway-Agent", "x" * 201, lambda h: h.agent_name("d")),
    ("X-Tollway-Optimization", "cheapest", lambda h: h.strategy()),
])
def test_a_bad_value_is_refused_naming_the_header(name, value, read):
    with pytest.raises(InvalidRequest, match=name):
        read(headers((name, value)))


def test_the_key_is_not_in_the_repr():
    assert "tw-secret" not in repr(headers(("authorization", "Bearer tw-secret"), ("x-api-key", "tw-secret")))


def test_the_agent_is_read_as_utf8():
    scope = {"type": "http", "headers": [(b"x-tollway-agent", "Zoë-東京".encode())]}
    assert ClientHeaders.of(Request(scope)).agent_name("d") == "Zoë-東京"  # latin-1 made it 'ZoÃ«-æ\x9d±äº¬'


def test_an_agent_that_is_not_utf8_is_refused_naming_the_header():
    scope = {"type": "http", "headers": [(b"x-tollway-agent", b"\xe9t\xe9")]}  # latin-1 'été'
    with pytest.raises(InvalidRequest, match="X-Tollway-Agent") as refused:
        ClientHeaders.of(Request(scope)).agent_name("d")
    assert refused.value.field == "X-Tollway-Agent"
