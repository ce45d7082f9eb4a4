"""How long the garbage collector held the process: per generation, the collections since start
and the longest one, timed with `gc.callbacks`. A full (generation 2) collection stops every
request in flight; next to the event-loop lag, this says whether a stall was the collector."""

from __future__ import annotations

import gc
import time
from typing import Any


class GcPauses:
    def __init__(self) -> None:
        self.counts = [0, 0, 0]
        self.longest_ms = [0.0, 0.0, 0.0]
        self.total_ms = [0.0, 0.0, 0.0]
        self._started = 0.0

    def install(self) -> None:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def remove(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        gen = info.get("generation", 0)
        ms = (time.perf_counter() - self._started) * 1000
        self.counts[gen] += 1
        self.total_ms[gen] += ms
        if ms > self.longest_ms[gen]:
            self.longest_ms[gen] = ms

    def summary(self) -> dict[str, dict[str, float]]:
        # One rounding for both figures, so the total is never printed below the longest pause.
        return {f"gen{g}": {"collections": self.counts[g], "longest_ms": round(self.longest_ms[g], 3),
                            "total_ms": round(self.total_ms[g], 3)} for g in range(3)}
