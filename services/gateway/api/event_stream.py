"""A server-sent-events answer written straight to the ASGI server: the headers, then each piece
as the relay yields it, with nothing in between (Starlette's StreamingResponse runs each stream
in an anyio task group and a sync iterator in a thread pool; measured, that was a few percent of
the gateway's CPU per stream).

A client that goes away is noticed at once, not at the next write (uvicorn drops writes to a
closed connection silently): a watcher waits for `http.disconnect` and cancels the stream, so the
relay records what was generated and closes the upstream request. Whatever happened, the
request's `settlement` is closed last: a client that left before the stream's first piece was
asked for (a generator never started cannot clean up after itself), or a wrapped relay that was
never closed, still ends with its one receipt and its upstream connection closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

if TYPE_CHECKING:
    from services.gateway.settlement import Settlement

SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache",
               "x-accel-buffering": "no"}


class EventStream(Response):
    """A Response to the routing layers; its own `__call__` does the writing."""

    def __init__(self, events: AsyncIterator[bytes] | Iterable[bytes], headers: Mapping[str, str] | None = None, *,
                 settlement: Settlement | None = None) -> None:
        self.events = events
        self.status_code = 200
        self.background = None
        merged = {**SSE_HEADERS, **(headers or {})}
        self.raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in merged.items()]
        self.settlement = settlement

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        task = asyncio.current_task()
        assert task is not None
        done = gone = False

        def client_left(watcher: asyncio.Future[None]) -> None:
            nonlocal gone
            if not watcher.cancelled() and not done:
                gone = True
                task.cancel()

        watcher = asyncio.ensure_future(_disconnect(receive))
        watcher.add_done_callback(client_left)
        events = self.events
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            if isinstance(events, AsyncIterator):
                async for piece in events:
                    await send({"type": "http.response.body", "body": piece, "more_body": True})
            else:
                for piece in events:
                    await send({"type": "http.response.body", "body": piece, "more_body": True})
            done = True
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not gone:
                raise
            task.uncancel()  # we cancelled it because the client left: the answer simply ends here
        finally:
            done = True
            watcher.cancel()
            try:
                if isinstance(events, AsyncIterator) and hasattr(events, "aclose"):
                    await events.aclose()  # a relay stopped mid-way records what was generated
            finally:
                if self.settlement is not None:
                    self.settlement.close()  # the receipt if none yet, and the upstream connection


async def _disconnect(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
