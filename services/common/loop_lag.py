"""How late the event loop runs what is due: a probe that asks to wake every `interval_s` and
records how late it woke. A request's own work is invisible to it; what it sees is everything
that held the loop (a long synchronous step, a garbage collection, the process not scheduled),
which is what stretches every request in flight at that moment. Shown in `/health`.
"""

from __future__ import annotations

import asyncio
from collections import deque

from services.common.tasks import cancel_and_wait


class LoopLag:
    def __init__(self, interval_s: float = 0.05, keep: int = 1200) -> None:
        self.interval_s = interval_s
        self.lags_ms: deque[float] = deque(maxlen=keep)  # the last `keep` probes (a minute at 50 ms)
        self.worst_ms = 0.0  # since start
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="loop-lag")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval_s
            await asyncio.sleep(self.interval_s)
            lag = max(0.0, (loop.time() - due) * 1000)
            self.lags_ms.append(lag)
            self.worst_ms = max(self.worst_ms, lag)

    def summary(self) -> dict[str, float]:
        """Milliseconds late over the last minute: p50, p99, max; and the worst since start."""
        ordered = sorted(self.lags_ms)
        if not ordered:
            return {"p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "worst_since_start_ms": 0.0}
        def pct(p: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))], 3)
        return {"p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": round(ordered[-1], 3),
                "worst_since_start_ms": round(self.worst_ms, 3)}
