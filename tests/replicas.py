"""Two replicas of a service on one PostgreSQL: a change made through one must wake a snapshot
long-poll held by the other. `woken_by` holds the poll on B, makes the change on A, and says how
long B took to answer after the change returned."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx


async def caught_up(leader: httpx.AsyncClient, follower: httpx.AsyncClient, path: str, wait_s: float = 5.0) -> int:
    """Once the follower's snapshot is at the leader's version (a change made just before may still
    be on its way: a poll held from an older version would be answered by it); that version."""
    deadline = time.monotonic() + wait_s
    while True:
        version = (await leader.get(path)).json()["version"]
        if (await follower.get(path)).json()["version"] >= version:
            return int(version)
        assert time.monotonic() < deadline, f"the follower never reached version {version}"
        await asyncio.sleep(0.02)


async def woken_by(follower: httpx.AsyncClient, path: str, change: Callable[[], Awaitable[Any]],
                   wait_s: float = 5.0) -> tuple[float, dict[str, Any]]:
    """(seconds from the change's answer to the follower's, the follower's snapshot)."""
    before = (await follower.get(path)).json()["version"]
    poll = asyncio.create_task(follower.get(path, params={"after": before, "wait": wait_s}))
    await asyncio.sleep(0.2)  # the poll is held
    assert not poll.done(), "the long-poll was answered before anything changed"
    await change()
    changed_at = time.perf_counter()
    answer = await poll
    elapsed = time.perf_counter() - changed_at
    body: dict[str, Any] = answer.json()
    assert answer.status_code == 200 and body["version"] > before, body
    return elapsed, body
