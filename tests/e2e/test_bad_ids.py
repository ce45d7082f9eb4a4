"""Every id a client gives the gateway, on real processes: a hostile X-Request-ID, X-Tollway-Run
or POST /route request_id / run_id is a 400 naming the field (never cut to fit, never passed on),
and the simulator's request counter proves nothing was sent upstream.

Header cases go out on a raw socket, byte for byte (an HTTP client would refuse to send some of
them, or tidy them up); body cases are JSON with the value escaped as JSON does.

Two answers differ in shape, by design:
- /v1/messages answers in Anthropic's error shape ({"type": "error", "error": {"type":
  "invalid_request_error", "message"}}), which has no "field": there the message names it. An
  X-Request-ID is refused by the middleware every service shares, before any route, so it is
  Tollway's shape (with "field") on every surface.
- A NUL is never a valid header value (RFC 9110 5.5): the HTTP server (uvicorn) refuses the
  request, a plain-text 400, before any Tollway code runs, so nothing can name the field; what
  matters, a 400 and nothing upstream, is checked. In a JSON body a NUL reaches the contract."""

from __future__ import annotations

import socket
import uuid
from urllib.parse import urlsplit

import httpx
import orjson
import pytest

from tests.e2e.conftest import register

CHAT_MODEL, EMBED_MODEL = "bad-ids-chat", "bad-ids-embed"

HOSTILE = {
    "dot": ".",
    "dotdot": "..",
    "slash": "/",
    "a-slash-b": "a/b",
    "percent-dotdot": "%2e%2e",
    "nul": "\x00",
    "129-chars": "a" * 129,
    "non-ascii": "ü",
}


def _chat(stream: bool) -> dict:
    return {"model": CHAT_MODEL, "max_tokens": 4, "stream": stream,
            "messages": [{"role": "user", "content": f"hello {uuid.uuid4().hex}"}]}


def _embed(_: bool) -> dict:
    return {"model": EMBED_MODEL, "input": f"hello {uuid.uuid4().hex}"}


def _route(_: bool) -> dict:
    return {"requirements": {"model": CHAT_MODEL},
            "payload": {"max_tokens": 4, "messages": [{"role": "user", "content": f"hello {uuid.uuid4().hex}"}]}}


# surface -> (path, body maker, stream)
SURFACES = {
    "chat": ("/v1/chat/completions", _chat, False),
    "chat-stream": ("/v1/chat/completions", _chat, True),
    "messages": ("/v1/messages", _chat, False),
    "messages-stream": ("/v1/messages", _chat, True),
    "embeddings": ("/v1/embeddings", _embed, False),
    "route": ("/route", _route, False),
}
# (field as the error names it, where it goes, the surfaces that read it)
FIELDS = [
    ("X-Request-ID", "header", list(SURFACES)),
    ("X-Tollway-Run", "header", ["chat", "chat-stream", "messages", "messages-stream", "embeddings"]),
    ("request_id", "body", ["route"]),
    ("run_id", "body", ["route"]),
]
CASES = [pytest.param(field, where, surface, value, id=f"{surface}-{field}-{label}")
         for field, where, surfaces in FIELDS for surface in surfaces for label, value in HOSTILE.items()]


@pytest.fixture(scope="module")
def providers(swarm, http):
    sim = swarm.url("simulator")
    register(http, swarm, {"name": "bad-ids-chat", "model": CHAT_MODEL, "context_window": 8192,
                           "input_per_mtok": "1", "output_per_mtok": "2", "endpoint": sim + "/sim/tps=0"})
    register(http, swarm, {"name": "bad-ids-embed", "model": EMBED_MODEL, "context_window": 8192,
                           "features": ["embeddings"], "input_per_mtok": "1", "output_per_mtok": "0",
                           "endpoint": sim})
    for model in (CHAT_MODEL, EMBED_MODEL):
        swarm.wait_for_model(model)


def upstream_calls(swarm) -> int:
    """Chat and embeddings calls the simulator has had (GET /requests)."""
    return httpx.get(swarm.url("simulator") + "/requests").json()["total"]


def raw_post(base: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, dict, bytes]:
    """POST on a plain socket with exactly these header bytes; (status, headers, body)."""
    url = urlsplit(base)
    lines = [b"POST " + path.encode() + b" HTTP/1.1", b"host: " + url.netloc.encode(),
             b"content-type: application/json", b"content-length: " + str(len(body)).encode(),
             b"connection: close", *(name + b": " + value for name, value in headers)]
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, rest = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.split(b"\r\n")
    answer_headers = {}
    for line in header_lines:
        name, _, value = line.partition(b":")
        answer_headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return int(status_line.split()[1]), answer_headers, rest


def send(swarm, surface: str, *, headers: list[tuple[bytes, bytes]] | None = None,
         fields: dict | None = None) -> tuple[int, dict, bytes]:
    path, make, stream = SURFACES[surface]
    body = {**make(stream), **(fields or {})}
    return raw_post(swarm.url("gateway"), path, headers or [], orjson.dumps(body))


def assert_names(field: str, surface: str, headers: dict, body: bytes) -> None:
    """The 400's JSON error names `field`: Tollway's shape says it in "field" (and its message);
    Anthropic's, on /v1/messages, in its message."""
    assert headers.get("content-type", "").startswith("application/json"), (headers, body[:500])
    answer = orjson.loads(body)
    error = answer["error"]
    if surface.startswith("messages") and answer.get("type") == "error":
        assert error["type"] == "invalid_request_error", answer
        assert error["message"].startswith(field + " "), answer
        return
    assert error["type"] == "invalid_request", answer
    assert error["field"] == field, answer
    assert error["message"].startswith(field + " "), answer


def test_the_counter_counts_what_reaches_the_simulator(swarm, providers):
    """The proof below is only worth something if a good request on each surface is counted."""
    for surface in SURFACES:
        before = upstream_calls(swarm)
        fields = {"request_id": f"good-{uuid.uuid4().hex}", "run_id": "bad-ids-good"} if surface == "route" else None
        headers = [(b"x-request-id", f"good-{uuid.uuid4().hex}".encode())]
        if surface != "route":
            headers.append((b"x-tollway-run", b"bad-ids-good"))
        status, _, body = send(swarm, surface, headers=headers, fields=fields)
        assert status == 200, (surface, body[:500])
        assert upstream_calls(swarm) == before + 1, surface


@pytest.mark.parametrize(("field", "where", "surface", "value"), CASES)
def test_a_hostile_id_is_a_400_naming_the_field_and_nothing_goes_upstream(swarm, providers, field, where,
                                                                         surface, value):
    costs_before = sorted(p.name for p in swarm.costs.glob("*")) if swarm.costs.exists() else []
    before = upstream_calls(swarm)
    if where == "header":
        status, headers, body = send(swarm, surface, headers=[(field.lower().encode(), value.encode("utf-8"))])
    else:
        status, headers, body = send(swarm, surface, fields={field: value})
    assert status == 400, (status, body[:500])
    if not (where == "header" and "\x00" in value):
        assert_names(field, surface, headers, body)
    assert upstream_calls(swarm) == before, "the simulator was called"
    costs_after = sorted(p.name for p in swarm.costs.glob("*")) if swarm.costs.exists() else []
    assert costs_after == costs_before, "a receipt file appeared"
