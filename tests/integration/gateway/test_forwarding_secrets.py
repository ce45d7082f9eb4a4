"""What a provider echoes of the key it was sent never gets past forwarding: the error body kept
for the client, the attempts' errors, the all-failed message and the log lines hold `[redacted]`
instead (whole key, partial echoes, any escaping; every wire format's key header). A key is read
only from an allowed variable: any other name is an attempt error, and nothing is sent."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal

import orjson
import pytest
from aiohttp import web
from structlog.testing import capture_logs

from services.common.errors import UpstreamFailed
from services.common.redaction import MARKER
from services.common.registry.provider import Provider
from services.common.settings import Settings
from services.gateway.forwarding.breaker import BreakerConfig, Breakers
from services.gateway.forwarding.fallback import Forwarder
from services.gateway.forwarding.upstream import UpstreamClient
from services.gateway.receipts.build import RequestFacts
from tests.integration.gateway.aiohttp_server import serving

KEY = "sk-fwd-Qm3Rt8Yw2Zx5Vb7Nc9Lk4Jh6"
ADMIN = "admin-key-never-sent-4f9a8b7c6d5e"
OK = orjson.dumps({"id": "x", "object": "chat.completion", "model": "m",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                                "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})
PAYLOAD = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}


class Echo:
    """Providers at /<name>/...: `ok` answers, any other name refuses with the status in its name
    (e.g. `e400`, `e401`, `u400`: \\u-escaped), quoting every credential it got."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.calls[name] += 1
        if name == "ok":
            return web.Response(body=OK, content_type="application/json")
        got = {h: request.headers[h] for h in ("authorization", "x-api-key", "x-goog-api-key", "api-key")
               if h in request.headers}
        message = f"bad credentials {got}; starting {next(iter(got.values()), '')[7:21]}"
        body = orjson.dumps({"error": {"message": message, "type": "auth", "sent": got}})
        if name.startswith("u"):  # every character \u-escaped: no byte of the key as it is
            escaped = "".join(f"\\u{ord(c):04x}" for c in message)
            body = b'{"error": {"message": "' + escaped.encode() + b'"}}'
        return web.Response(status=int(name[1:4]), body=body, content_type="application/json")

    def provider(self, name: str, fmt: str = "openai", env: str = "TOLLWAY_PROVIDER_KEY_FWD") -> Provider:
        return Provider(name, "m", 10_000, f"http://127.0.0.1:{self.port}/{name}", Decimal("0.000001"),
                        Decimal("0.000002"), api_format=fmt, api_key_env=env)


@pytest.fixture
async def echo(monkeypatch) -> AsyncIterator[Echo]:
    monkeypatch.setenv("TOLLWAY_PROVIDER_KEY_FWD", KEY)
    monkeypatch.setenv("TOLLWAY_SOME_SECRET", ADMIN)
    up = Echo()
    app = web.Application()
    app.router.add_post("/{name}/{tail:.*}", up.handle)
    async with serving(app) as up.port:
        yield up


@pytest.fixture
async def forwarder() -> AsyncIterator[Forwarder]:
    client = UpstreamClient(2.0)
    await client.start()
    yield Forwarder(client, Settings(retries_per_provider=0), Breakers(BreakerConfig(failures=100)),
                    rng=random.Random(1))
    await client.close()


def facts() -> RequestFacts:
    return RequestFacts("req-1", "run", "agent", "cost", "cheapest first")


def build(adapter, provider, key):
    return adapter.build_request(provider, PAYLOAD, key, stream=False)


def clean(text: str | bytes) -> bool:
    text = text.decode() if isinstance(text, bytes) else text
    return KEY not in text and KEY[:12] not in text and KEY[-12:] not in text and KEY[7:21] not in text


@pytest.mark.parametrize("fmt", ["openai", "azure", "anthropic", "gemini"])
async def test_a_400_echoing_the_key_comes_back_redacted(echo, forwarder, fmt):
    f = facts()
    answer = await forwarder.first_answer([echo.provider("e400", fmt)], build, f, stream=False)
    assert answer.status == 400 and echo.calls["e400"] == 1
    assert clean(answer.body) and MARKER.encode() in answer.body
    assert clean(answer.adapter.error_message(400, answer.body))  # what the client and the receipt get
    assert clean(f.attempts[0].error) and MARKER in f.attempts[0].error


async def test_an_escaped_echo_is_redacted_too(echo, forwarder):
    f = facts()
    answer = await forwarder.first_answer([echo.provider("u400")], build, f, stream=False)
    assert clean(orjson.loads(answer.body)["error"]["message"]) and MARKER.encode() in answer.body
    assert clean(f.attempts[0].error)


async def test_a_401_echo_falls_back_and_no_error_or_log_line_holds_the_key(echo, forwarder):
    f = facts()
    with capture_logs() as logs:
        answer = await forwarder.first_answer([echo.provider("e401", "anthropic"), echo.provider("ok")], build, f,
                                              stream=False)
        assert answer.status == 200
        with pytest.raises(UpstreamFailed) as info:
            await forwarder.first_answer([echo.provider("e401"), echo.provider("u403", "gemini")], build, facts(),
                                         stream=False)
    assert clean(f.attempts[0].error) and f.attempts[0].error.startswith("HTTP 401: ") and MARKER in f.attempts[0].error
    assert clean(info.value.message) and info.value.message.count(MARKER) >= 2
    assert any(e["event"] == "upstream_failed" for e in logs) and clean(str(logs))


async def test_a_name_outside_the_allowed_ones_is_never_read_nor_sent(echo, forwarder):
    f = facts()
    answer = await forwarder.first_answer([echo.provider("e400", env="TOLLWAY_SOME_SECRET"), echo.provider("ok")],
                                          build, f, stream=False)
    assert answer.provider.name == "ok" and echo.calls == {"ok": 1}
    first = f.attempts[0]
    assert first.provider == "e400" and first.http_status is None
    assert "api_key_env" in first.error and "TOLLWAY_SOME_SECRET" in first.error and ADMIN not in first.error
