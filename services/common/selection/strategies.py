"""Which module orders by which strategy. Each has `rank` (every candidate scored and sorted: the
full path, and the reference) and `head` (over a prepared view: the first few exact, the rest
sorted when read; prepared.py)."""

from __future__ import annotations

from typing import Protocol

from services.common.selection import (
    ab_split,
    balanced,
    capability,
    cheapest,
    failover,
    fastest,
    least_busy,
    region,
    round_robin,
    smart,
)
from services.common.selection.candidate import Candidate, Job, Ranking
from services.common.selection.view import View


class Strategy(Protocol):
    def rank(self, candidates: list[Candidate], job: Job) -> Ranking: ...

    def head(self, view: View, job: Job) -> Ranking: ...


BY_NAME: dict[str, Strategy] = {
    "cost": cheapest, "latency": fastest, "balanced": balanced, "weighted": balanced, "capability": capability,
    "round_robin": round_robin, "least_busy": least_busy, "failover": failover, "ab": ab_split, "region": region,
    "smart": smart,
}
