"""The `Limiter` interface every backend implements, its counters, and the rules they share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from services.gateway.limits.decision import Decision, Hit, Verdict


@dataclass(slots=True)
class LimiterCounters:
    """What a metrics endpoint reads: checks made, refused, and checks the store could not answer
    (then admitted when failing open, refused when failing closed)."""

    checks: int = 0
    refused: int = 0
    failed_open: int = 0
    failed_closed: int = 0
    evicted_active: int = 0  # in-process: states dropped while still counting (memory was full)
    lost_corrections: int = 0  # Redis: corrections the store could not be reached for


class Limiter(Protocol):
    counters: LimiterCounters

    async def check(self, hits: Sequence[Hit], now_us: int | None = None) -> Verdict:
        """Admit only if every hit's limit admits; then charge all of them, else none (and count a
        violation for each limit that refused). One store round trip however many hits."""
        ...

    async def peek(self, hits: Sequence[Hit], now_us: int | None = None) -> tuple[Decision, ...]:
        """The decisions `check` would make, charging and counting nothing (usage reports)."""
        ...

    async def correct(self, verdict: Verdict, actual_tokens: int, now_us: int | None = None) -> None:
        """After the call: charge (or give back) real minus estimated tokens to each token limit
        the admitted `verdict` charged. No-op for refused or degraded verdicts."""
        ...

    async def violations(self, day: date) -> dict[str, int]:
        """Refusals on `day` (UTC), per limit name."""
        ...

    async def close(self) -> None: ...


def distinct(hits: Sequence[Hit]) -> None:
    if len(hits) > 1 and len({h.key for h in hits}) != len(hits):
        raise ValueError("one check names the same limit and key twice")


def corrections(verdict: Verdict, actual_tokens: int) -> list[tuple[Hit, int]]:
    """(hit, tokens to add) for each token limit an admitted verdict charged an estimate to."""
    if not verdict.allowed or verdict.degraded:
        return []
    return [(h, actual_tokens - h.cost) for h in verdict.hits
            if h.spec.unit == "tokens" and actual_tokens != h.cost]
