"""Injected faults: error draws (reproducible with a seed), hanging until the client goes away, and
closing a kept-alive connection unannounced after each answer (`close=1`)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request

from services.simulator.spec import Spec, SpecError

Scope = MutableMapping[str, Any]


class ErrorDice:
    """Decides which requests fail. Each spec with a seed has its own generator, so the sequence of
    outcomes for that spec is the same in every run of the simulator."""

    def __init__(self) -> None:
        self._seeded: dict[Any, random.Random] = {}
        self._free = random.Random()

    def fails(self, error_rate: float, seed: int | None = None, key: Any = None) -> bool:
        if error_rate <= 0:
            return False
        if error_rate >= 1:
            return True
        if seed is None:
            rng = self._free
        else:
            if (key, seed) not in self._seeded:
                self._seeded[(key, seed)] = random.Random(seed)
            rng = self._seeded[(key, seed)]
        return rng.random() < error_rate


async def wait_for_disconnect(request: Request, limit_s: float = 3600.0) -> None:
    """Wait (at most `limit_s`) until the client disconnects; the body must have been read already."""
    try:
        async with asyncio.timeout(limit_s):
            while (await request.receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        pass


class CloseAfterAnswer:
    """ASGI middleware for `close=1`: the connection is closed right after the answer's last byte,
    with no `Connection: close` header before it, as a server retiring a kept-alive connection
    does. A client that sends its next request on it finds it dead (or, in a race, writes into it
    before it learns so). It needs the server's transport: uvicorn's `receive` is a method of its
    request cycle, which holds it. It must be the outermost middleware of the app (Starlette's own
    error middleware passes `receive` on untouched); without a transport (an in-process test
    client) nothing is closed."""

    def __init__(self, app: Callable[..., Awaitable[None]], spec_of: Callable[[str], Spec]) -> None:
        self.app = app
        self.spec_of = spec_of  # the behaviour of a `/sim/<spec>/...` path's spec text

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        transport = getattr(getattr(receive, "__self__", None), "transport", None)
        if scope["type"] != "http" or transport is None or not self._closes(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_then_close(message: dict[str, Any]) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                transport.close()  # what was written still goes out first

        await self.app(scope, receive, send_then_close)

    def _closes(self, path: str) -> bool:
        if not path.startswith("/sim/"):
            return False
        try:
            return self.spec_of(path[5:].split("/", 1)[0]).close
        except SpecError:
            return False  # the handler answers it with a 400
