"""Every request settles exactly once, whatever breaks: faults at each step of a request's life.

The router and the ledger run as real processes; the gateway runs in this process (uvicorn on a
thread, real HTTP) so that a fault can be put into any step of its code: admission, reservation,
an attempt, the answer's parse, the stream relay, the receipt write, shipping. Providers are a
scripted raw HTTP/1.1 server that misbehaves on purpose (a corrupt gzip body, a malformed stream
chunk, a connection cut) and counts the connections it has open. Every request runs on a budgeted
run. After each case: the client got its answer or a clear JSON error, the request has exactly
one receipt on disk (none only where the case says why), no reservation and no settlement is left
open, no upstream connection is left open beyond the gateway's idle pool, and at the end the
ledger's spent equals the sum of the run's receipts to the microdollar.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
import uvicorn

from tests.e2e.conftest import register, wait_until
from tests.e2e.swarm import Swarm, free_port

RUN = "faults"
BUDGET = Decimal("5")
ANSWER = orjson.dumps({"id": "c1", "object": "chat.completion", "model": "m",
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello there"},
                                    "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}})


def _chunk(content: str) -> bytes:
    return b"data: " + orjson.dumps({"id": "c1", "object": "chat.completion.chunk", "model": "m",
                                     "choices": [{"index": 0, "delta": {"content": content}}]}) + b"\n\n"


USAGE_CHUNK = b"data: " + orjson.dumps({"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": [],
                                        "usage": {"prompt_tokens": 12, "completion_tokens": 2,
                                                  "total_tokens": 14}}) + b"\n\n"
DONE = b"data: [DONE]\n\n"

Writer = asyncio.StreamWriter
Script = Callable[[Writer], Awaitable[None]]


def _head(status: int = 200, *, length: int | None = None, extra: bytes = b"", sse: bool = False) -> bytes:
    kind = b"text/event-stream" if sse else b"application/json"
    sized = b"Content-Length: %d\r\n" % length if length is not None else b"Transfer-Encoding: chunked\r\n"
    return b"HTTP/1.1 %d X\r\nContent-Type: %s\r\n%s%s\r\n" % (status, kind, sized, extra)


def _chunked(piece: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(piece), piece)


def plain(body: bytes, status: int = 200, extra: bytes = b"") -> Script:
    async def run(w: Writer) -> None:
        w.write(_head(status, length=len(body), extra=extra) + body)
    return run


def stream(*events: bytes, end: bool = True, pause_s: float = 0.0) -> Script:
    """SSE events in a chunked body, `pause_s` after the first; `end` False cuts the connection."""
    async def run(w: Writer) -> None:
        w.write(_head(sse=True))
        for n, event in enumerate(events):
            w.write(_chunked(event))
            await w.drain()
            if n == 0 and pause_s:
                await asyncio.sleep(pause_s)
        if end:
            w.write(b"0\r\n\r\n")
        else:
            w.close()
    return run


def cut_before_answer() -> Script:
    async def run(w: Writer) -> None:
        w.close()
    return run


def slow(seconds: float, then: Script) -> Script:
    async def run(w: Writer) -> None:
        await asyncio.sleep(seconds)
        await then(w)
    return run


@dataclass
class Upstream:
    """Providers at /<case>/v1/chat/completions, each answering with its script; it counts calls and
    the connections it has open right now."""

    scripts: dict[str, Script] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    open_connections: int = 0
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        self.open_connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                case = head.split(b" ", 2)[1].split(b"/")[1].decode()
                self.calls[case] = self.calls.get(case, 0) + 1
                await self.scripts[case](writer)
                await writer.drain()
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_connections -= 1
            writer.close()


class Background:
    """An event loop on a thread: the scripted upstream and the in-process gateway live on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Awaitable[Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@dataclass
class Rig:
    swarm: Swarm
    upstream: Upstream
    gateway: str
    app: Any
    ids: Iterator[int] = field(default_factory=itertools.count)

    @property
    def pipeline(self) -> Any:
        return self.app.state.pipeline

    @property
    def shipper(self) -> Any:
        return self.app.state.shipper

    def provider(self, case: str, script: Script) -> str:
        """A provider (and a model of its own) for this case; returns the model."""
        self.upstream.scripts[case] = script
        model = f"m-{case}"
        register(httpx.Client(), self.swarm, {
            "name": f"p-{case}", "model": model, "context_window": 8192,
            "endpoint": f"http://127.0.0.1:{self.upstream.port}/{case}",
            "input_per_mtok": "10", "output_per_mtok": "30"})
        wait_until(lambda: any(m["id"] == model for m in httpx.get(self.gateway + "/v1/models").json()["data"]),
                   10, f"the gateway lists {model}")
        return model

    def new_id(self, case: str) -> str:
        return f"{case}-{next(self.ids)}-{os.getpid()}"

    def receipts(self, client_id: str) -> list[dict[str, Any]]:
        path = self.swarm.costs / f"{RUN}.jsonl"
        if not path.exists():
            return []
        lines = [orjson.loads(line) for line in path.read_bytes().splitlines() if line]
        return [r for r in lines if r.get("client_request_id") == client_id]

    def health(self) -> dict[str, Any]:
        return httpx.get(self.gateway + "/health").json()

    def settled(self) -> None:
        """Nothing left open: settlements, reservations, upstream connections beyond the idle pool."""
        seen: dict[str, Any] = {}

        def clean() -> bool:
            h = self.health()
            seen.update(settlements_open=h["settlements_open"], reservations=h["budgets"]["reservations_in_flight"],
                        upstream_open=self.upstream.open_connections, gateway_idle=h["upstream"]["idle"])
            return (h["settlements_open"] == 0 and h["budgets"]["reservations_in_flight"] == 0
                    and self.upstream.open_connections <= h["upstream"]["idle"])
        try:
            wait_until(clean, 5, "every settlement closed, every reservation released, no connection leaked")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {seen}") from None


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    # no active health probes: every connection the scripted providers see is the gateway's
    swarm = Swarm(tmp_path_factory.mktemp("faults"), extra_env={"TOLLWAY_HEALTH_CHECK_INTERVAL_S": "0"})
    for service in ("router", "ledger", "gateway"):
        swarm.ports[service] = free_port()
    swarm.start("router")
    swarm.start("ledger")
    background = Background()
    upstream = Upstream()
    server = background.run(asyncio.start_server(upstream.handle, "127.0.0.1", 0))
    upstream.port = server.sockets[0].getsockname()[1]
    saved = dict(os.environ)
    os.environ.update({**swarm.env(), "TOLLWAY_GATEWAY_PORT": str(swarm.ports["gateway"]),
                       "TOLLWAY_RETRIES_PER_PROVIDER": "0", "TOLLWAY_MAX_ATTEMPTS": "1",
                       "TOLLWAY_UPSTREAM_READ_TIMEOUT_S": "3", "TOLLWAY_LOG_LEVEL": "warning"})
    from services.common.settings import Settings
    from services.gateway.app import create_app

    asgi = create_app(Settings())
    app = asgi
    while not hasattr(app, "state"):  # the Starlette app inside the request-context middleware
        app = app.app
    gateway = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=swarm.ports["gateway"], log_level="warning",
                                            access_log=False, loop="asyncio", http="httptools"))
    serving = asyncio.run_coroutine_threadsafe(gateway.serve(), background.loop)
    url = swarm.url("gateway")
    wait_until(lambda: _answers(url), 15, "the in-process gateway answers /health")
    r = httpx.post(swarm.url("ledger") + "/budget", json={"run_id": RUN, "budget_usd": str(BUDGET)})
    assert r.status_code in (200, 201), r.text
    wait_until(lambda: RUN in httpx.get(swarm.url("ledger") + "/budgets/snapshot").json()["run_ids"]
               and httpx.get(url + "/health").json()["budgets"]["runs"] >= 1, 10, "the gateway knows the budget")
    try:
        yield Rig(swarm, upstream, url, app)
    finally:
        gateway.should_exit = True
        try:
            serving.result(15)
        finally:
            os.environ.clear()
            os.environ.update(saved)
            background.loop.call_soon_threadsafe(server.close)
            background.stop()
            swarm.stop_all()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def chat(rig: Rig, model: str, client_id: str, *, stream_: bool = False, timeout: float = 10) -> httpx.Response:
    return httpx.post(rig.gateway + "/v1/chat/completions", timeout=timeout,
                      headers={"X-Tollway-Run": RUN, "X-Request-ID": client_id},
                      json={"model": model, "max_tokens": 20, "stream": stream_,
                            "messages": [{"role": "user", "content": "say hello"}]})


def clear_error(resp: httpx.Response, *statuses: int) -> str:
    assert resp.status_code in statuses, (resp.status_code, resp.text)
    error = resp.json()["error"]
    assert error["type"] and error["message"], error
    return error["type"]


def one_receipt(rig: Rig, client_id: str) -> dict[str, Any]:
    wait_until(lambda: len(rig.receipts(client_id)) >= 1, 5, f"a receipt for {client_id}")
    rig.settled()
    receipts = rig.receipts(client_id)
    assert len(receipts) == 1, receipts
    return receipts[0]


# -- providers that misbehave ---------------------------------------------------------------------

def test_a_clean_answer_is_one_paid_receipt(rig):
    model = rig.provider("clean", plain(ANSWER))
    cid = rig.new_id("clean")
    resp = chat(rig, model, cid)
    assert resp.status_code == 200 and resp.json()["choices"][0]["message"]["content"] == "hello there"
    receipt = one_receipt(rig, cid)
    assert receipt["status"] == "success" and receipt["cost_usd"] == 0.00021  # 12 x 10 + 3 x 30 per Mtok
    assert resp.headers["x-request-id"] == cid and resp.headers["x-tollway-request-id"] == receipt["request_id"]
    assert receipt["request_id"] != cid  # the receipt's key is the gateway's own


def test_a_corrupt_gzip_body_is_a_clear_error_and_one_receipt(rig):
    body = gzip.compress(ANSWER)
    corrupt = body[:10] + bytes(b ^ 0x5A for b in body[10:30]) + body[30:]
    model = rig.provider("gzip", plain(corrupt, extra=b"Content-Encoding: gzip\r\n"))
    for _ in range(3):
        cid = rig.new_id("gzip")
        resp = chat(rig, model, cid)
        clear_error(resp, 500, 502)
        receipt = one_receipt(rig, cid)
        assert receipt["status"] == "error" and receipt["error"]["message"]


def test_a_connection_cut_before_the_answer_is_a_clear_error_and_one_receipt(rig):
    model = rig.provider("cut", cut_before_answer())
    cid = rig.new_id("cut")
    clear_error(chat(rig, model, cid), 502)
    receipt = one_receipt(rig, cid)
    assert receipt["status"] == "error" and receipt["cost_usd"] == 0


def test_a_server_error_is_one_unpaid_receipt(rig):
    model = rig.provider("five", plain(b'{"error": {"message": "boom"}}', status=500))
    cid = rig.new_id("five")
    clear_error(chat(rig, model, cid), 502)
    receipt = one_receipt(rig, cid)
    assert receipt["status"] == "error" and receipt["cost_usd"] == 0 and receipt["http_status"] == 502


@pytest.mark.parametrize("bad", [
    b'data: {"id": "c1", "choices": "not a list"}\n\n',
    b"data: [1, 2, 3]\n\n",
    b'data: {"choices": [{"index": 0, "delta": {"content": 5}}]}\n\n',
    b"data: {not json\n\n",
], ids=["choices-not-a-list", "array", "number-as-content", "not-json"])
def test_a_malformed_stream_chunk_ends_the_stream_with_one_charged_receipt(rig, bad):
    case = f"chunk{len(bad)}"
    model = rig.provider(case, stream(_chunk("hel"), bad, _chunk("lo"), USAGE_CHUNK, DONE))
    cid = rig.new_id(case)
    resp = chat(rig, model, cid, stream_=True)
    assert resp.status_code == 200
    receipt = one_receipt(rig, cid)
    assert receipt["status"] in ("success", "error"), receipt
    if receipt["status"] == "error":  # the stream ended at the chunk: the client was told so
        assert "error" in resp.text and receipt["error"]["type"] == "truncated"
        assert receipt["cost_usd"] > 0  # the provider generated what it sent: billed
    else:  # a chunk the parser could skip: the stream went on to its end
        assert resp.text.rstrip().endswith("data: [DONE]")


def test_a_stream_cut_midway_is_one_charged_truncated_receipt(rig):
    model = rig.provider("midcut", stream(_chunk("hel"), _chunk("lo"), end=False))
    cid = rig.new_id("midcut")
    resp = chat(rig, model, cid, stream_=True)
    assert resp.status_code == 200 and "upstream_truncated" in resp.text
    receipt = one_receipt(rig, cid)
    assert receipt["status"] == "error" and receipt["error"]["type"] == "truncated" and receipt["cost_usd"] > 0


# -- clients that leave ---------------------------------------------------------------------------

def test_a_client_leaving_before_the_first_byte_of_a_stream(rig):
    model = rig.provider("early", slow(1.0, stream(_chunk("hello"), USAGE_CHUNK, DONE)))
    cid = rig.new_id("early")
    with pytest.raises(httpx.ReadTimeout):
        chat(rig, model, cid, stream_=True, timeout=0.3)
    receipt = one_receipt(rig, cid)
    assert receipt["status"] in ("success", "error")
    if receipt["status"] == "error":
        assert receipt["error"]["type"] == "client_disconnected"


def test_a_client_leaving_after_the_first_byte_of_a_stream(rig):
    model = rig.provider("late", stream(_chunk("hel"), _chunk("lo"), USAGE_CHUNK, DONE, pause_s=2.0))
    cid = rig.new_id("late")
    with httpx.stream("POST", rig.gateway + "/v1/chat/completions", timeout=10,
                      headers={"X-Tollway-Run": RUN, "X-Request-ID": cid},
                      json={"model": model, "stream": True, "max_tokens": 20,
                            "messages": [{"role": "user", "content": "say hello"}]}) as resp:
        first = next(resp.iter_raw())
        assert b"hel" in first
    receipt = one_receipt(rig, cid)
    assert receipt["status"] == "error" and receipt["error"]["type"] == "client_disconnected"
    assert receipt["output_tokens"] >= 1 and receipt["cost_usd"] > 0  # billed for what was generated


def test_a_client_leaving_a_plain_request_still_gets_it_metered(rig):
    model = rig.provider("plainleave", slow(0.8, plain(ANSWER)))
    cid = rig.new_id("plainleave")
    with pytest.raises(httpx.ReadTimeout):
        chat(rig, model, cid, timeout=0.2)
    receipt = one_receipt(rig, cid)
    assert receipt["cost_usd"] == 0.00021 or receipt["error"]["type"] == "client_disconnected"


# -- faults inside the gateway --------------------------------------------------------------------

class Boom(Exception):
    """A failure nobody foresaw."""


def _raise(*_: Any, **__: Any) -> Any:
    raise Boom("injected")


async def _araise(*_: Any, **__: Any) -> Any:
    raise Boom("injected")


def test_a_fault_before_a_provider_is_chosen_holds_nothing(rig, monkeypatch):
    model = rig.provider("admission", plain(ANSWER))
    monkeypatch.setattr(type(rig.pipeline), "decide", _raise)
    cid = rig.new_id("admission")
    assert clear_error(chat(rig, model, cid), 500) == "internal_error"
    rig.settled()
    assert rig.receipts(cid) == []  # refused at the door: nothing reserved, nothing sent
    assert rig.upstream.calls.get("admission", 0) == 0


@pytest.mark.parametrize("kind", [Boom, asyncio.CancelledError], ids=["unexpected", "cancelled"])
def test_a_fault_in_the_reservation_is_one_refusal_receipt(rig, monkeypatch, kind):
    case = f"reserve{kind.__name__}"
    model = rig.provider(case, plain(ANSWER))
    leases = rig.pipeline.leases
    real = leases.reserve
    calls = 0

    async def once(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise kind("injected")
        return await real(*args, **kwargs)

    monkeypatch.setattr(leases, "reserve", once)
    cid = rig.new_id(case)
    try:
        resp = chat(rig, model, cid, timeout=5)
        if kind is asyncio.CancelledError:  # the server gave up the handler: its own bare 500
            assert resp.status_code == 500
        else:
            clear_error(resp, 500)
    except httpx.HTTPError:
        assert kind is asyncio.CancelledError  # the server dropped the request it was serving
    receipt = one_receipt(rig, cid)
    assert receipt["status"] == "error" and receipt["cost_usd"] == 0
    assert rig.upstream.calls.get(case, 0) == 0


def test_a_fault_in_an_attempt_is_one_receipt_and_no_leak(rig, monkeypatch):
    model = rig.provider("attempt", plain(ANSWER))
    monkeypatch.setattr(type(rig.pipeline.forwarder), "_attempt", _araise)
    cid = rig.new_id("attempt")
    assert clear_error(chat(rig, model, cid), 500) == "internal_error"
    receipt = one_receipt(rig, cid)
    assert receipt["status"] == "error" and receipt["cost_usd"] == 0


def test_a_fault_reading_a_paid_answer_is_charged_at_the_estimate(rig, monkeypatch):
    import services.gateway.pipeline as pipeline_module

    model = rig.provider("parse", plain(ANSWER))
    monkeypatch.setattr(pipeline_module, "parse_answer", _raise)
    cid = rig.new_id("parse")
    assert clear_error(chat(rig, model, cid), 502) == "upstream_unreadable"
    receipt = one_receipt(rig, cid)
    assert receipt["status"] == "error" and receipt["usage_estimated"] is True and receipt["cost_usd"] > 0


def test_a_fault_in_the_stream_relay_ends_the_stream_with_one_receipt(rig, monkeypatch):
    from services.gateway.adapters.openai import OpenAIAdapter

    real = OpenAIAdapter.stream_parser

    class Breaks:
        """The real parser for the first event, then a failure nobody foresaw."""

        def __init__(self, parser: Any) -> None:
            self.parser, self.events = parser, 0

        def parse_event(self, lines: list[bytes]) -> Any:
            self.events += 1
            if self.events > 1:
                raise Boom("injected")
            return self.parser.parse_event(lines)

    monkeypatch.setattr(OpenAIAdapter, "stream_parser", lambda self: Breaks(real(self)))
    model = rig.provider("relay", stream(_chunk("hel"), _chunk("lo"), USAGE_CHUNK, DONE, pause_s=0.3))
    cid = rig.new_id("relay")
    resp = chat(rig, model, cid, stream_=True)
    assert resp.status_code == 200 and "hel" in resp.text and "upstream_truncated" in resp.text
    monkeypatch.undo()
    receipt = one_receipt(rig, cid)
    assert receipt["status"] == "error" and receipt["cost_usd"] > 0


def test_a_receipt_that_cannot_be_written_withholds_the_answer_and_keeps_the_money_held(rig, monkeypatch):
    model = rig.provider("diskfull", plain(ANSWER))
    writer = rig.pipeline.writer

    def full(_: dict[str, Any]) -> None:
        raise OSError(28, "No space left on device")

    lease_free_before = _free(rig)
    monkeypatch.setattr(writer, "write", full)
    cid = rig.new_id("diskfull")
    assert clear_error(chat(rig, model, cid), 503) == "receipt_not_written"
    monkeypatch.undo()
    rig.settled()
    assert rig.receipts(cid) == []
    if lease_free_before is not None and _free(rig) is not None:  # the worst case stays held, not freed
        assert _free(rig) < lease_free_before


def _free(rig: Rig) -> int | None:
    lease = rig.pipeline.leases.lease_of(f"run:{RUN}")
    return None if lease is None else lease.free


def test_shipping_that_fails_loses_nothing_and_counts_nothing_twice(rig, monkeypatch):
    model = rig.provider("ship", plain(ANSWER))
    monkeypatch.setattr(rig.shipper, "_post", _araise)
    ids = [rig.new_id("ship") for _ in range(3)]
    for cid in ids:
        assert chat(rig, model, cid).status_code == 200
    time.sleep(0.5)  # a few shipping rounds fail
    monkeypatch.undo()
    mine = {one_receipt(rig, cid)["request_id"] for cid in ids}

    def at_ledger() -> set[str]:
        rows = httpx.get(rig.swarm.url("ledger") + f"/receipts/{RUN}", params={"limit": 10_000}).json()
        return {r["request_id"] for r in rows.get("receipts", rows if isinstance(rows, list) else [])} & mine

    wait_until(lambda: at_ledger() == mine, 10, "the ledger has the receipts shipped after the failures")


def test_zz_the_ledger_agrees_with_the_run_file_to_the_microdollar(rig):
    """Last: everything above shipped; spent at the ledger is the sum of the run's receipts."""
    path = rig.swarm.costs / f"{RUN}.jsonl"
    lines = path.read_bytes().splitlines()
    receipts = [orjson.loads(line) for line in lines]
    ids = [r["request_id"] for r in receipts]
    assert len(ids) == len(set(ids)), "a request id twice in the run's file"
    total = sum((Decimal(str(r["cost_usd"])) for r in receipts), Decimal(0))

    def spent() -> Decimal:
        return Decimal(str(httpx.get(rig.swarm.url("ledger") + f"/budget/{RUN}").json()["spent_usd"]))

    wait_until(lambda: spent() == total, 10, f"ledger spent == ${total} (the run file's sum)")
    assert spent() <= BUDGET
    rig.settled()
