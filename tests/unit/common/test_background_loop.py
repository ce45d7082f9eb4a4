"""services/common/tasks.py's BackgroundLoop: a round that raises is logged and the loop goes on;
stop() ends it whether it is waiting between rounds or in the middle of one; wake() runs the next
round without waiting out the interval."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from structlog.testing import capture_logs

from services.common.tasks import BackgroundLoop


async def _until(condition, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.005)


def _counted() -> tuple[list[None], Callable[[], Awaitable[None]]]:
    """A round that only counts itself, and its count."""
    rounds: list[None] = []

    async def round_() -> None:
        rounds.append(None)

    return rounds, round_


async def test_a_round_that_raises_is_logged_and_the_next_round_runs():
    seen: list[int] = []

    async def round_() -> None:
        seen.append(len(seen))
        if len(seen) == 1:
            raise RuntimeError("database away")

    loop = BackgroundLoop("t", round_, 0.01, failed_event="t_round_failed")
    with capture_logs() as logs:
        loop.start()
        await _until(lambda: len(seen) >= 3)
        await loop.stop()
    failed = [x for x in logs if x["event"] == "t_round_failed"]
    assert len(failed) == 1 and failed[0]["error"] == "RuntimeError: database away"
    assert loop.failures == 1 and not loop.running


async def test_stop_while_waiting_between_rounds_returns_at_once():
    rounds, round_ = _counted()
    loop = BackgroundLoop("t", round_, 3600, failed_event="t_round_failed")
    loop.start()
    await _until(lambda: rounds)
    async with asyncio.timeout(1):  # the hour's wait is cancelled, not waited out
        await loop.stop()
    assert not loop.running and len(rounds) == 1


async def test_stop_while_a_round_runs_cancels_it_and_no_round_follows():
    began, ended = asyncio.Event(), []

    async def round_() -> None:
        began.set()
        try:
            await asyncio.sleep(3600)
        finally:
            ended.append("cancelled")

    loop = BackgroundLoop("t", round_, 0.0, failed_event="t_round_failed")
    with capture_logs() as logs:
        loop.start()
        await asyncio.wait_for(began.wait(), 5)
        async with asyncio.timeout(1):
            await loop.stop()
        await asyncio.sleep(0.05)
    assert ended == ["cancelled"] and loop.rounds == 1 and not loop.running
    assert not [x for x in logs if x["event"] == "t_round_failed"]  # a cancel is not a failed round


async def test_wake_runs_the_next_round_without_waiting_the_interval():
    rounds, round_ = _counted()
    loop = BackgroundLoop("t", round_, 3600, failed_event="t_round_failed")
    loop.start()
    try:
        await _until(lambda: len(rounds) == 1)
        loop.wake()
        await _until(lambda: len(rounds) == 2, timeout_s=1)
    finally:
        await loop.stop()


async def test_wait_first_waits_before_the_first_round():
    rounds, round_ = _counted()
    loop = BackgroundLoop("t", round_, 3600, failed_event="t_round_failed", wait_first=True)
    loop.start()
    try:
        await asyncio.sleep(0.05)
        assert rounds == [] and loop.running
        loop.wake()
        await _until(lambda: rounds, timeout_s=1)
    finally:
        await loop.stop()
