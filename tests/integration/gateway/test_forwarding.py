"""Forwarding against a real HTTP upstream on a local port: retries after the provider's
Retry-After or a jittered backoff (the waits are recorded, not slept), first-byte and idle
timeouts, fallback, the caller's 4xx returned as is, circuit breakers that stop calling a failing
provider, and the retry budget."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import orjson
import pytest
from aiohttp import web

from services.common.errors import UpstreamFailed, UpstreamRateLimited, UpstreamTimeout
from services.common.registry.provider import Provider
from services.common.settings import Settings
from services.gateway.forwarding.breaker import BreakerConfig, Breakers
from services.gateway.forwarding.fallback import Forwarder
from services.gateway.forwarding.upstream import UpstreamClient
from services.gateway.receipts.build import RequestFacts
from tests.integration.gateway.aiohttp_server import serving

OK_BODY = orjson.dumps({"id": "x", "object": "chat.completion", "model": "m",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                                     "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})
PAYLOAD = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}

Behaviour = Callable[[web.Request], "asyncio.Future[web.StreamResponse] | object"]


def ok(_: web.Request) -> web.Response:
    return web.Response(body=OK_BODY, content_type="application/json")


def status(code: int, **headers: str) -> Callable[[web.Request], web.Response]:
    def answer(_: web.Request) -> web.Response:
        body = orjson.dumps({"error": {"message": f"scripted {code}", "type": "x"}})
        return web.Response(status=code, body=body, content_type="application/json", headers=headers)
    return answer


async def hang(_: web.Request) -> web.Response:
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")


async def half_body_then_silence(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"content-type": "application/json", "content-length": str(len(OK_BODY))})
    await resp.prepare(request)
    await resp.write(OK_BODY[:10])
    await asyncio.sleep(3600)
    return resp


class Upstream:
    """Providers at /<name>/v1/chat/completions, each answering from its script in turn (the
    last behaviour repeats); every call is counted."""

    def __init__(self) -> None:
        self.scripts: dict[str, list] = {}
        self.calls: Counter[str] = Counter()
        self.port = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.calls[name] += 1
        script = self.scripts[name]
        behaviour = script[min(self.calls[name], len(script)) - 1]
        result = behaviour(request)
        return await result if asyncio.iscoroutine(result) else result

    def provider(self, name: str, *script, **timeouts: float) -> Provider:
        self.scripts[name] = list(script)
        return Provider(name, "m", 10_000, f"http://127.0.0.1:{self.port}/{name}", Decimal("0.000001"),
                        Decimal("0.000002"), timeouts=dict(timeouts))


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    up = Upstream()
    app = web.Application()
    app.router.add_post("/{name}/v1/chat/completions", up.handle)
    async with serving(app) as up.port:
        yield up


class Sleeps(list):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
async def client() -> AsyncIterator[UpstreamClient]:
    c = UpstreamClient(2.0)
    await c.start()
    yield c
    await c.close()


def forwarder(client: UpstreamClient, breakers: Breakers | None = None, **settings) -> tuple[Forwarder, Sleeps]:
    config = {"retries_per_provider": 1, "retry_backoff_base_s": 0.1, "retry_backoff_cap_s": 2.0,
              "retry_after_max_s": 5.0, "retry_budget_attempts": 6, "retry_budget_s": 10.0, **settings}
    sleeps = Sleeps()
    breakers = breakers or Breakers(BreakerConfig(failures=100))
    return Forwarder(client, Settings(**config), breakers, rng=random.Random(3), sleep=sleeps), sleeps


def facts() -> RequestFacts:
    return RequestFacts("req-1", "run", "agent", "cost", "cheapest first")


def build(adapter, provider, key):
    return adapter.build_request(provider, PAYLOAD, key, stream=False)


def trail(f: RequestFacts) -> list[tuple[str, int | None]]:
    return [(a.provider, a.http_status) for a in f.attempts]


async def test_a_429_is_retried_after_the_retry_after_the_provider_sent(upstream, client):
    p = upstream.provider("p", status(429, **{"Retry-After": "2"}), ok)
    fwd, sleeps = forwarder(client)
    f = facts()
    answer = await fwd.first_answer([p], build, f, stream=False)
    assert answer.status == 200 and answer.provider.name == "p"
    assert sleeps == [2.0]
    assert trail(f) == [("p", 429), ("p", 200)]
    assert "retry after 2 s" in f.attempts[0].error
    assert f.attempts[0].started_ms == 0 and f.attempts[1].started_ms is not None


async def test_retry_after_ms_is_honoured_before_retry_after(upstream, client):
    p = upstream.provider("p", status(503, **{"retry-after-ms": "150", "Retry-After": "4"}), ok)
    fwd, sleeps = forwarder(client)
    await fwd.first_answer([p], build, facts(), stream=False)
    assert sleeps == [0.15]


async def test_a_retry_after_longer_than_the_cap_is_not_waited_for_the_next_provider_answers(upstream, client):
    slow, fine = upstream.provider("slow", status(429, **{"Retry-After": "60"})), upstream.provider("fine", ok)
    fwd, sleeps = forwarder(client, retry_after_max_s=5)
    f = facts()
    answer = await fwd.first_answer([slow, fine], build, f, stream=False)
    assert answer.provider.name == "fine" and sleeps == []
    assert trail(f) == [("slow", 429), ("fine", 200)]


async def test_a_5xx_is_retried_with_a_jittered_backoff_then_the_next_provider_is_tried(upstream, client):
    bad, good = upstream.provider("bad", status(500)), upstream.provider("good", ok)
    fwd, sleeps = forwarder(client, retries_per_provider=2, retry_backoff_base_s=0.1)
    f = facts()
    answer = await fwd.first_answer([bad, good], build, f, stream=False)
    assert answer.provider.name == "good"
    assert trail(f) == [("bad", 500)] * 3 + [("good", 200)]
    assert upstream.calls == {"bad": 3, "good": 1}
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 0.1 and 0 <= sleeps[1] <= 0.2 and sleeps[0] != sleeps[1]


async def test_a_connection_refused_is_retried_then_falls_back(upstream, client):
    dead = Provider("dead", "m", 10_000, "http://127.0.0.1:1", Decimal(0), Decimal(0))
    good = upstream.provider("good", ok)
    fwd, sleeps = forwarder(client)
    f = facts()
    assert (await fwd.first_answer([dead, good], build, f, stream=False)).provider.name == "good"
    assert trail(f) == [("dead", None), ("dead", None), ("good", 200)]
    assert f.attempts[0].error.startswith("cannot connect") and len(sleeps) == 1


async def test_a_hang_hits_the_first_byte_timeout_and_the_next_provider_answers(upstream, client):
    stuck = upstream.provider("stuck", hang, first_byte_s=0.3)
    good = upstream.provider("good", ok)
    fwd, _ = forwarder(client, retries_per_provider=0)
    f = facts()
    answer = await fwd.first_answer([stuck, good], build, f, stream=False)
    assert answer.provider.name == "good"
    assert f.attempts[0].error == "first byte timeout: no answer within 0.3 s"


async def test_a_body_that_goes_silent_hits_the_idle_timeout(upstream, client):
    stalls = upstream.provider("stalls", half_body_then_silence, idle_s=0.3)
    good = upstream.provider("good", ok)
    fwd, _ = forwarder(client, retries_per_provider=0)
    f = facts()
    assert (await fwd.first_answer([stalls, good], build, f, stream=False)).provider.name == "good"
    assert f.attempts[0].error.startswith("no data for 0.3 s (idle timeout)")


async def test_every_provider_timing_out_is_a_504(upstream, client):
    a, b = upstream.provider("a", hang, first_byte_s=0.2), upstream.provider("b", hang, first_byte_s=0.2)
    fwd, _ = forwarder(client, retries_per_provider=0)
    with pytest.raises(UpstreamTimeout) as info:
        await fwd.first_answer([a, b], build, facts(), stream=False)
    assert info.value.status == 504 and "a: first byte timeout" in info.value.message


async def test_every_provider_answering_429_is_a_429_with_the_shortest_wait_they_asked_for(upstream, client):
    a = upstream.provider("a", status(429, **{"Retry-After": "3"}), status(429, **{"Retry-After": "3"}))
    b = upstream.provider("b", status(429, **{"retry-after-ms": "1500"}), status(429))
    fwd, sleeps = forwarder(client)
    f = facts()
    with pytest.raises(UpstreamRateLimited) as info:
        await fwd.first_answer([a, b], build, f, stream=False)
    assert trail(f) == [("a", 429), ("a", 429), ("b", 429), ("b", 429)]
    assert sleeps == [3.0, 1.5]  # each provider's own Retry-After before its retry
    assert info.value.status == 429 and info.value.headers == {"retry-after": "2"}  # 1.5 s, in whole seconds
    assert "every provider tried failed" in info.value.message
    no_wait = upstream.provider("c", status(429), status(429))
    with pytest.raises(UpstreamRateLimited) as info:
        await forwarder(client)[0].first_answer([no_wait], build, facts(), stream=False)
    assert info.value.headers == {}  # no provider said how long


async def test_429s_mixed_with_other_failures_are_a_502(upstream, client):
    limited, broken = upstream.provider("limited", status(429)), upstream.provider("broken", status(500))
    fwd, _ = forwarder(client, retries_per_provider=0)
    with pytest.raises(UpstreamFailed) as info:
        await fwd.first_answer([limited, broken], build, facts(), stream=False)
    assert info.value.status == 502


async def test_the_callers_400_comes_back_as_is_without_retry_or_fallback(upstream, client):
    picky, other = upstream.provider("picky", status(400)), upstream.provider("other", ok)
    breakers = Breakers(BreakerConfig(failures=1))
    fwd, sleeps = forwarder(client, breakers)
    answer = await fwd.first_answer([picky, other], build, facts(), stream=False)
    assert (answer.provider.name, answer.status) == ("picky", 400)
    assert upstream.calls == {"picky": 1} and sleeps == []
    assert breakers["picky"].state == "closed"  # the provider answered: not its failure


async def test_a_401_is_the_providers_setup_the_next_provider_is_tried_at_once(upstream, client):
    locked, other = upstream.provider("locked", status(401)), upstream.provider("other", ok)
    fwd, sleeps = forwarder(client)
    f = facts()
    assert (await fwd.first_answer([locked, other], build, f, stream=False)).provider.name == "other"
    assert trail(f) == [("locked", 401), ("other", 200)] and sleeps == []


async def test_an_open_circuit_is_not_called_and_the_reason_says_it_was_skipped(upstream, client):
    bad, good = upstream.provider("bad", status(500)), upstream.provider("good", ok)
    breakers = Breakers(BreakerConfig(failures=2, cooldown_s=60))
    fwd, _ = forwarder(client, breakers)
    await fwd.first_answer([bad, good], build, facts(), stream=False)
    assert breakers["bad"].state == "open" and upstream.calls["bad"] == 2
    f = facts()
    answer = await fwd.first_answer([bad, good], build, f, stream=False)
    assert answer.provider.name == "good" and upstream.calls["bad"] == 2  # not called again
    assert trail(f) == [("good", 200)]
    assert "skipped at forwarding: bad (circuit open (2 consecutive failures)" in f.reason


async def test_the_retry_budget_caps_the_upstream_calls_of_one_request(upstream, client):
    providers = [upstream.provider(name, status(502)) for name in ("a", "b", "c")]
    fwd, _ = forwarder(client, retry_budget_attempts=3)
    with pytest.raises(UpstreamFailed) as info:
        await fwd.first_answer(providers, build, facts(), stream=False)
    assert sum(upstream.calls.values()) == 3 and upstream.calls == {"a": 2, "b": 1}
    assert "retry budget of 3 upstream calls is spent" in info.value.message


async def test_no_retry_starts_past_the_retry_time_budget(upstream, client):
    slow = upstream.provider("slow", status(503, **{"Retry-After": "3"}))
    good = upstream.provider("good", ok)
    fwd, sleeps = forwarder(client, retry_budget_s=2.0)
    f = facts()
    assert (await fwd.first_answer([slow, good], build, f, stream=False)).provider.name == "good"
    assert sleeps == [] and upstream.calls["slow"] == 1  # a 3 s wait does not fit a 2 s budget


class ResendingClient(UpstreamClient):
    """The real client, except that every answer says the pool had to send it a second time."""

    async def open(self, req, connect_timeout_s=None):  # type: ignore[no-untyped-def]
        resp = await super().open(req, connect_timeout_s)
        resp.resent = True
        return resp


async def test_a_request_sent_again_on_a_fresh_connection_says_so_in_its_attempt(upstream: Upstream) -> None:
    client = ResendingClient(2.0)
    try:
        fwd, _ = forwarder(client)
        f = facts()
        provider = upstream.provider("p", status(503), ok)
        answer = await fwd.first_answer([provider], build, f, stream=False)
        assert answer.status == 200
        assert [a.to_json().get("resent") for a in f.attempts] == [True, True]  # the failed one and the answer
    finally:
        await client.close()


async def test_an_attempt_not_sent_again_carries_no_resent_mark(upstream: Upstream, client: UpstreamClient) -> None:
    fwd, _ = forwarder(client)
    f = facts()
    await fwd.first_answer([upstream.provider("q", ok)], build, f, stream=False)
    assert ["resent" in a.to_json() for a in f.attempts] == [False]
