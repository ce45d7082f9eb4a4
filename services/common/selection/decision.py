"""What a selection decides: the providers ranked (the choice first), the strategy, the reason
with the numbers that decided it, a confidence, who was excluded and why, and the experiment
arm, rule or complexity class involved; and its JSON (contracts/routing_decision.schema.json)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.common.registry.provider import Provider
from services.common.selection.candidate import Candidate
from services.common.selection.complexity import Complexity
from services.common.selection.ranked import HEAD

MAX_ALTERNATIVES_SHOWN = HEAD - 1


@dataclass(frozen=True, slots=True)
class Decision:
    ranked: Sequence[Candidate]  # the choice first, then every alternative in order (a tuple, or Ranked)
    strategy: str
    reason: str
    confidence: float
    excluded: tuple[tuple[str, str], ...]
    experiment: tuple[str, str] | None = None  # (experiment, arm)
    rule: str | None = None
    complexity: Complexity | None = None

    @property
    def choice(self) -> Candidate:
        return self.ranked[0]

    @property
    def provider(self) -> Provider:
        return self.ranked[0].provider

    def experiment_json(self) -> dict[str, str] | None:
        return {"name": self.experiment[0], "arm": self.experiment[1]} if self.experiment else None

    def to_json(self, max_alternatives: int = MAX_ALTERNATIVES_SHOWN) -> dict[str, Any]:
        best = self.choice
        out: dict[str, Any] = {
            "provider": best.name,
            "model": best.provider.model,
            "strategy": self.strategy,
            "reason": self.reason,
            "estimated_cost_usd": best.cost,
            "estimated_latency_ms": best.latency.ms,
            "latency_source": best.latency.source,
            "confidence": self.confidence,
            "alternatives": [
                {"provider": c.name, "model": c.provider.model, "estimated_cost_usd": c.cost,
                 "estimated_latency_ms": c.latency.ms}
                for c in self.ranked[1:1 + max_alternatives]
            ],
            "excluded": [{"provider": n, "reason": r} for n, r in self.excluded],
        }
        if self.experiment:
            out["experiment"] = self.experiment_json()
        if self.rule:
            out["rule"] = self.rule
        if self.complexity:
            out["complexity"] = self.complexity.to_json()
        return out
