"""The `Limiter` interface every backend implements, its counters, and the rules they share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from services.gateway.limits.decision import Decision, Hit, Verdict
from services.gateway.limits.records import Buckets
from services.gateway.limits.resolve import Subject
from services.gateway.limits.spec import LimitSpec


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
    lost_violation_records: int = 0  # Redis: refusals whose record the store could not take
    resets: int = 0  # limit states cleared by an operator


class Limiter(Protocol):
    counters: LimiterCounters

    async def check(self, hits: Sequence[Hit], now_us: int | None = None,
                    subject: Subject | None = None) -> Verdict:
        """Admit only if every hit's limit admits; then charge all of them, else none (and count a
        violation for each limit that refused, recording it with `subject`, the caller). One
        store round trip however many hits (a refusal's records take one more on Redis)."""
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

    async def violation_records(self, wanted: Mapping[str, str], most: int) -> list[dict[str, Any]]:
        """The newest refusals (see records.py), newest first, whose fields equal `wanted`'s."""
        ...

    async def reset(self, keys: Sequence[str]) -> int:
        """Forget the state of these hit keys (the limit starts afresh for them); how many had one."""
        ...

    async def buckets(self, known: Mapping[str, LimitSpec], now_us: int, *, near: float, most: int,
                      scan: int) -> Buckets:
        """The states held now whose limit (`known`: by fingerprint) is at least `near` used,
        looking at `scan` states at most; states of limits no longer in force are left out."""
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
