"""EventStream against a scripted ASGI server: pieces in order, a client that leaves mid-stream
cancels the relay (whose cleanup runs) without an error, and a client that leaves before the
first piece still has its settlement closed (a generator that never ran cannot clean up)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from services.gateway.api.event_stream import EventStream


class Client:
    """The ASGI server's side: records what is sent; `leave()` makes receive() say disconnect."""

    def __init__(self, send_blocks: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.gone = asyncio.Event()
        self.send_blocks = send_blocks  # a send that waits (flow control) until the client leaves

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        if self.send_blocks:
            await asyncio.Event().wait()

    def leave(self) -> None:
        self.gone.set()

    @property
    def body(self) -> list[bytes]:
        return [m["body"] for m in self.sent if m["type"] == "http.response.body"]


async def test_pieces_go_out_in_order_then_the_end():
    async def events() -> AsyncGenerator[bytes, None]:
        for piece in (b"data: 1\n\n", b"data: 2\n\n"):
            yield piece

    client = Client()
    await EventStream(events(), {"x-tollway-run": "r"})({"type": "http"}, client.receive, client.send)
    start = client.sent[0]
    assert start["type"] == "http.response.start" and start["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in start["headers"]
    assert (b"x-tollway-run", b"r") in start["headers"]
    assert client.body == [b"data: 1\n\n", b"data: 2\n\n", b""]
    assert client.sent[-1]["more_body"] is False


async def test_a_sync_list_is_sent_too():
    client = Client()
    await EventStream([b"a", b"b"])({"type": "http"}, client.receive, client.send)
    assert client.body == [b"a", b"b", b""]


async def test_a_client_leaving_mid_stream_cancels_the_relay_and_its_cleanup_runs():
    cleaned: list[str] = []
    first_sent = asyncio.Event()

    async def events() -> AsyncGenerator[bytes, None]:
        try:
            yield b"data: 1\n\n"
            first_sent.set()
            await asyncio.sleep(30)  # the upstream is slow: the next piece would take long
            yield b"data: never\n\n"
        except asyncio.CancelledError:
            cleaned.append("cancelled")  # the relay records the receipt here
            raise

    client = Client()
    serving = asyncio.create_task(EventStream(events())({"type": "http"}, client.receive, client.send))
    await first_sent.wait()
    client.leave()
    await asyncio.wait_for(serving, 2)  # ends without raising
    assert cleaned == ["cancelled"]
    assert client.body == [b"data: 1\n\n"]  # no end sent: the client is gone
    assert not serving.cancelled() and serving.exception() is None


class Settled:
    """Stands in for the request's settlement: counts how often the stream closes it."""

    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


async def test_a_client_leaving_before_the_first_piece_still_closes_the_settlement():
    ran: list[str] = []
    settlement = Settled()

    async def events() -> AsyncGenerator[bytes, None]:
        ran.append("started")
        yield b"x"

    client = Client(send_blocks=True)  # the headers cannot go out
    serving = asyncio.create_task(EventStream(events(), settlement=settlement)(  # type: ignore[arg-type]
        {"type": "http"}, client.receive, client.send))
    await asyncio.sleep(0.01)
    client.leave()
    await asyncio.wait_for(serving, 2)
    assert settlement.closed == 1 and ran == []


async def test_a_stream_closes_its_settlement_once_after_the_relay_ends():
    settlement = Settled()
    order: list[str] = []

    async def events() -> AsyncGenerator[bytes, None]:
        try:
            yield b"x"
        finally:
            order.append(f"relay closed, settlement closed {settlement.closed} times")

    client = Client()
    await EventStream(events(), settlement=settlement)({"type": "http"}, client.receive,  # type: ignore[arg-type]
                                                       client.send)
    assert settlement.closed == 1 and client.body == [b"x", b""]
    assert order == ["relay closed, settlement closed 0 times"]


async def test_a_cancellation_from_elsewhere_is_not_swallowed():
    async def events() -> AsyncGenerator[bytes, None]:
        yield b"x"
        await asyncio.sleep(30)
        yield b"y"

    client = Client()
    serving = asyncio.create_task(EventStream(events())({"type": "http"}, client.receive, client.send))
    await asyncio.sleep(0.01)
    serving.cancel()  # the server shutting down, say: not the client leaving
    with pytest.raises(asyncio.CancelledError):
        await serving


async def test_an_error_in_the_relay_propagates():
    async def events() -> AsyncGenerator[bytes, None]:
        yield b"x"
        raise RuntimeError("relay bug")

    client = Client()
    with pytest.raises(RuntimeError, match="relay bug"):
        await EventStream(events())({"type": "http"}, client.receive, client.send)
