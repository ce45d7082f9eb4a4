"""Injected faults: error draws (reproducible with a seed) and hanging until the client goes away."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from starlette.requests import Request


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
