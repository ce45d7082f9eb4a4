"""A provider scored for one request: its estimated cost and latency."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.common.registry.provider import Provider
from services.common.selection.estimate import estimated_cost
from services.common.selection.request import SelectionRequest


@dataclass(frozen=True, slots=True)
class Candidate:
    provider: Provider
    cost: Decimal
    latency_ms: float | None

    @property
    def name(self) -> str:
        return self.provider.name


def score(provider: Provider, request: SelectionRequest) -> Candidate:
    cost = estimated_cost(request.input_tokens, request.output_tokens,
                          provider.input_per_token, provider.output_per_token)
    return Candidate(provider, cost, provider.slo_latency_p95_ms)


def tie_break(c: Candidate) -> tuple[int, str]:
    """Deterministic order among equals: lower priority number first, then name."""
    return (c.provider.priority, c.name)
