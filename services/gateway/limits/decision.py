"""What a check asks and answers: a `Hit` (one limit, one storage key, one cost), the `Decision`
of one limit, and the `Verdict` of one request over all the limits that apply to it. They are
values (never changed once made), though not frozen: a frozen dataclass' __init__ costs about a
microsecond more each, on the hot path."""

from __future__ import annotations

from dataclasses import dataclass

from services.gateway.limits.spec import LimitSpec
from services.gateway.limits.timebase import US


@dataclass(slots=True)
class Hit:
    """Charge `cost` (1 for requests, the estimate for tokens) to `spec` under `key`, the spec's
    fingerprint and the dimension's value (see `LimitSet.hits`)."""

    spec: LimitSpec
    key: str
    cost: int


@dataclass(slots=True)
class Decision:
    """One limit's answer. Times are microseconds from the check's `now`:
    `reset_us` until the limit is back to full (a fixed window: until the window ends);
    `retry_after_us` after which the same request is admitted if nothing else happens (0 when
    admitted; None when its cost exceeds what the limit can ever hold).
    When admitted, `remaining` is what is left after this request; when refused, what is left."""

    name: str
    allowed: bool
    limit: int
    remaining: int
    reset_us: int
    retry_after_us: int | None

    @property
    def reset(self) -> float:
        return self.reset_us / US

    @property
    def retry_after(self) -> float | None:
        return None if self.retry_after_us is None else self.retry_after_us / US


@dataclass(slots=True)
class Verdict:
    """All or nothing: admitted only if every limit admits, and then every limit was charged;
    refused, none was. `decisions[i]` answers `hits[i]`. `degraded`: the store could not be
    reached and the limiter fails open, so nothing was checked (and `decisions` is empty)."""

    allowed: bool
    decisions: tuple[Decision, ...]
    hits: tuple[Hit, ...]
    at_us: int
    degraded: bool = False

    @property
    def refusals(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if not d.allowed)

    @property
    def retry_after_us(self) -> int | None:
        """When the request would pass every limit: the longest wait of the refusing limits
        (admission only gets easier as time passes, so the others still admit then)."""
        waits = [d.retry_after_us for d in self.refusals]
        if not waits:
            return 0
        if None in waits:
            return None
        return max(w for w in waits if w is not None)
