"""The event-loop lag probe sees a step that holds the loop, and only that."""

from __future__ import annotations

import asyncio
import time

from services.common.loop_lag import LoopLag


async def test_a_step_that_holds_the_loop_shows_as_lag():
    lag = LoopLag(interval_s=0.01)
    lag.start()
    await asyncio.sleep(0.1)
    quiet = lag.summary()
    time.sleep(0.2)  # a synchronous step: everything due meanwhile runs late
    await asyncio.sleep(0.05)
    await lag.stop()
    held = lag.summary()
    assert quiet["max_ms"] < 100
    assert held["max_ms"] >= 150 and held["worst_since_start_ms"] == held["max_ms"]
    assert held["p50_ms"] < 100  # one late probe among many on time
    assert set(held) == {"p50_ms", "p99_ms", "max_ms", "worst_since_start_ms"}


def test_no_probe_yet_is_zeros():
    assert LoopLag().summary() == {"p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "worst_since_start_ms": 0.0}
