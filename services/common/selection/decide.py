"""The selection function: eligible providers, ranked by the asked strategy, explained.

Runs in the gateway (over its local registry snapshot) and behind the router's POST /select.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from services.common.errors import InvalidRequest, NoProviderMatches
from services.common.registry.provider import Provider
from services.common.selection import balanced, cheapest, fastest
from services.common.selection.candidate import Candidate, score
from services.common.selection.eligibility import partition
from services.common.selection.request import OPTIMIZATIONS, SelectionRequest

MAX_ALTERNATIVES_SHOWN = 2


@dataclass(frozen=True, slots=True)
class Decision:
    ranked: tuple[Candidate, ...]  # the choice first, then every alternative in order
    strategy: str
    reason: str
    confidence: float
    excluded: tuple[tuple[str, str], ...]

    @property
    def choice(self) -> Candidate:
        return self.ranked[0]

    @property
    def provider(self) -> Provider:
        return self.ranked[0].provider

    def to_json(self, max_alternatives: int = MAX_ALTERNATIVES_SHOWN) -> dict[str, Any]:
        best = self.choice
        return {
            "provider": best.name,
            "model": best.provider.model,
            "strategy": self.strategy,
            "reason": self.reason,
            "estimated_cost_usd": best.cost,
            "estimated_latency_ms": best.latency_ms,
            "confidence": self.confidence,
            "alternatives": [
                {"provider": c.name, "model": c.provider.model, "estimated_cost_usd": c.cost,
                 "estimated_latency_ms": c.latency_ms}
                for c in self.ranked[1:1 + max_alternatives]
            ],
            "excluded": [{"provider": n, "reason": r} for n, r in self.excluded],
        }


def _confidence(ranked: list[Candidate], strategy: str) -> float:
    """How sure the choice is. Cost is known exactly from prices: 1.0 unless tied with the
    runner-up. Latency here rests on declared SLOs, not observations: 0.5 at most."""
    if len(ranked) == 1:
        return 1.0 if strategy == "cost" else 0.5
    a, b = ranked[0], ranked[1]
    if strategy == "cost":
        return 1.0 if a.cost < b.cost else 0.5
    if a.latency_ms is None:
        return 0.1
    return 0.5 if b.latency_ms is None or a.latency_ms < b.latency_ms else 0.25


def select(providers: Iterable[Provider], request: SelectionRequest) -> Decision:
    if request.optimization not in OPTIMIZATIONS:
        raise InvalidRequest(f"optimization must be one of {', '.join(OPTIMIZATIONS)}",
                             field="optimization")
    eligible, excluded = partition(providers, request)
    if not eligible:
        raise NoProviderMatches(_nothing_matches(request, excluded))
    candidates = [score(p, request) for p in eligible]
    if request.optimization == "cost":
        ranked = cheapest.rank(candidates)
        reason = cheapest.explain(ranked, request.input_tokens, request.output_tokens)
    elif request.optimization == "latency":
        ranked = fastest.rank(candidates)
        reason = fastest.explain(ranked)
    else:
        ranked, s = balanced.rank(candidates)
        reason = balanced.explain(ranked, s)
    if excluded:
        reason += f"; {len(excluded)} excluded"
    return Decision(tuple(ranked), request.optimization, reason,
                    _confidence(ranked, request.optimization), tuple(excluded))


def _nothing_matches(request: SelectionRequest, excluded: list[tuple[str, str]]) -> str:
    req = request.requirements
    wanted = []
    if req.model:
        wanted.append(f"model {req.model}")
    if req.context_window:
        wanted.append(f"context window >= {req.context_window}")
    if req.features:
        wanted.append("features " + ", ".join(sorted(req.features)))
    text = "no active provider matches " + (" and ".join(wanted) if wanted else "the request")
    if excluded:
        shown = "; ".join(f"{n}: {r}" for n, r in excluded[:5])
        more = f" (and {len(excluded) - 5} more)" if len(excluded) > 5 else ""
        text += f" ({shown}{more})"
    else:
        text += " (no providers are registered)"
    return text
