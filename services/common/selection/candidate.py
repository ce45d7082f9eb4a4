"""A provider scored for one request (estimated cost and expected latency), the job every
strategy is given, and what a strategy gives back."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from services.common.registry.provider import Provider
from services.common.selection.complexity import Complexity
from services.common.selection.context import RoutingContext
from services.common.selection.estimate import estimated_cost
from services.common.selection.observed import Latency, expected_latency
from services.common.selection.request import SelectionRequest, Weights


@dataclass(frozen=True, slots=True)
class Candidate:
    provider: Provider
    cost: Decimal
    latency: Latency

    @property
    def name(self) -> str:
        return self.provider.name

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
    complexity: Complexity | None = None  # set by smart routing

    @property
    def input_tokens(self) -> int:
        return self.request.input_tokens

    @property
    def output_tokens(self) -> int:
        return self.request.output_tokens


class Ranking(NamedTuple):
    ordered: list[Candidate]  # the choice first
    reason: str
    confidence: float


def score(provider: Provider, job: Job) -> Candidate:
    cost = estimated_cost(job.input_tokens, job.output_tokens, provider.input_per_token,
                          provider.output_per_token)
    return Candidate(provider, cost, expected_latency(provider, job.ctx.observed))


def tie_break(c: Candidate) -> tuple[int, str]:
    """Deterministic order among equals: lower priority number first, then name."""
    return (c.provider.priority, c.name)


def by_cost(c: Candidate) -> tuple[Decimal, int, str]:
    return (c.cost, c.provider.priority, c.name)


def runner_up(ordered: list[Candidate]) -> Candidate | None:
    return ordered[1] if len(ordered) > 1 else None
