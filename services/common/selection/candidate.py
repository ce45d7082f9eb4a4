"""A provider scored for one request (estimated cost and expected latency), the job every
strategy is given, and what a strategy gives back."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import NamedTuple

from services.common.money import usd
from services.common.registry.provider import Provider
from services.common.selection.catalog import UNITS_D, Entry
from services.common.selection.complexity import Complexity
from services.common.selection.context import RoutingContext
from services.common.selection.observed import Latency
from services.common.selection.request import SelectionRequest, Weights


class Candidate(NamedTuple):
    """A tuple, so that scoring a thousand providers stays cheap (see `score_all`). Strategies get
    candidates in tie-break order (priority, then name: a catalog's order), so a stable sort on their
    own key breaks ties the same way everywhere."""

    provider: Provider
    exact: int | Decimal  # the estimated cost in femto-dollars, exact: what ranking compares
    latency: Latency
    latency_key: float = math.inf  # latency.ms, or infinity when unknown (sorts last)

    @property
    def name(self) -> str:
        return self.provider.name

    @property
    def cost(self) -> Decimal:
        """The estimated cost in dollars, rounded to the microdollar (what decisions show)."""
        return usd(Decimal(self.exact) / UNITS_D)

    @property
    def latency_ms(self) -> float | None:
        return self.latency.ms


@dataclass(slots=True)
class Job:
    """One selection in progress: the request, the caller's context and what was derived."""

    request: SelectionRequest
    ctx: RoutingContext
    strategy: str
    weights: Weights
    region: str | None
    features: frozenset[str]  # asked for plus detected in the payload
    pool: str  # the model or alias asked ("*" for any): the round-robin counter's name
    tier_shift: int = 0  # smart routing: auto-cost -1, auto-quality +1
    smart_mode: str = "cost"  # smart routing: what wins within a tier (cost, or latency for auto-latency)
    complexity: Complexity | None = None  # set by smart routing

    @property
    def input_tokens(self) -> int:
        return self.request.input_tokens

    @property
    def output_tokens(self) -> int:
        return self.request.output_tokens


class Ranking(NamedTuple):
    ordered: Sequence[Candidate]  # the choice first (all of them, or a Ranked: the head, the rest when asked)
    reason: str
    confidence: float


def score_all(entries: list[Entry], job: Job) -> list[Candidate]:
    """Every entry scored for the job (the per-provider loop of a decision: kept to integer math)."""
    it, ot = job.request.input_tokens, job.request.output_tokens
    new = tuple.__new__  # NamedTuple's own __new__ is a Python call: this is a third of the cost
    return [new(Candidate, (e.provider, e.in_units * it + e.out_units * ot if e.whole  # type: ignore[operator]
                            else e.decimal_cost(it, ot), e.latency, e.latency_key)) for e in entries]


def costs(entries: list[Entry], job: Job) -> list[int | Decimal]:
    """Each entry's exact cost for the job, in femto-dollars (as `score_all` has it)."""
    it, ot = job.request.input_tokens, job.request.output_tokens
    return [e.in_units * it + e.out_units * ot if e.whole else e.decimal_cost(it, ot)  # type: ignore[operator]
            for e in entries]


def cheapest_of(entries: list[Entry], job: Job, want: int) -> list[Entry]:
    """The `want` cheapest of `entries` (given in tie-break order), cheapest first."""
    exact = costs(entries, job)
    return [entries[i] for i in sorted(range(len(exact)), key=exact.__getitem__)[:want]]


def tie_break(c: Candidate) -> tuple[int, str]:
    """Deterministic order among equals: lower priority number first, then name."""
    return (c.provider.priority, c.name)


def by_cost(c: Candidate) -> tuple[int | Decimal, int, str]:
    return (c.exact, c.provider.priority, c.name)


# The sort key of cost when the candidates come in tie-break order (a catalog's order): a stable
# sort on it alone orders by cost, then priority, then name. (C-level: a third of a Python key's cost.)
exact_cost = itemgetter(1)
expected_p95 = itemgetter(3)


def runner_up(ordered: Sequence[Candidate]) -> Candidate | None:
    return ordered[1] if len(ordered) > 1 else None
