"""ASGI responses that pace a stream at a number of tokens per second, cut the connection
half-way (`drop`: the bytes stop and the response never completes, so the server closes the
connection and the client sees a truncated body), or go silent half-way with the connection
open (`stall`) until the client leaves."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, MutableMapping
from typing import Any

from starlette.responses import Response

Scope = MutableMapping[str, Any]


class PacedStream(Response):
    """SSE events sent as they are due: token events `1/tps` apart after the first byte, other
    events at once. With `drop`, stops in the middle of the token events without ending the body."""

    media_type = "text/event-stream"

    def __init__(self, events: Iterable[tuple[bytes, bool]], *, tps: float, drop: bool = False,
                 stall: bool = False, media_type: str | None = None) -> None:
        self.status_code = 200
        self.background = None
        if media_type is not None:
            self.media_type = media_type
        self.init_headers({"cache-control": "no-cache", "x-accel-buffering": "no"})
        self.events = list(events)
        self.tps = tps
        self.cut = _middle_token(self.events) if drop or stall else None
        self.stall = stall

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        sender = asyncio.ensure_future(self._send_events(send))
        watcher = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, watcher):
                task.cancel()
        if watcher.done() and not watcher.cancelled() and not sender.done():
            _state(scope).abandoned_streams += 1  # the client left before the end (GET /requests)
        if sender.done() and not sender.cancelled() and sender.exception() is not None:
            raise sender.exception()  # type: ignore[misc]

    async def _send_events(self, send: Any) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        sent_tokens = 0
        for index, (data, is_token) in enumerate(self.events):
            if index == self.cut:
                if self.stall:  # silent from here on; the disconnect watcher ends it
                    await asyncio.Event().wait()
                return  # dropped: the body never ends
            if is_token and self.tps > 0:
                sent_tokens += 1
                delay = started + sent_tokens / self.tps - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class TruncatedBody(Response):
    """Announces the whole body's length, sends half of it, and never finishes."""

    def __init__(self, content: bytes, media_type: str) -> None:
        super().__init__(content, media_type=media_type)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True})


def _middle_token(events: list[tuple[bytes, bool]]) -> int:
    tokens = [i for i, (_, is_token) in enumerate(events) if is_token]
    return tokens[len(tokens) // 2] if tokens else min(1, len(events))


def _state(scope: Scope) -> Any:
    return scope["app"].state.sim


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
