"""Smart routing: classify the request's complexity (complexity.py) and pick from the matching
tier of models: simple -> the cheap tier, complex -> the premium tier. Tiers come from the
routing config (`smart.tiers`), else from price: the eligible models in price order, in thirds.

The virtual models `tollway/auto`, `tollway/auto-cost` (one tier down) and `tollway/auto-quality`
(one tier up) route this way over every model; `smart` as a strategy does it within the model or
alias asked. Within the tier the cheapest wins; the other tiers follow, nearest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from services.common.selection.candidate import Candidate, Job, Ranking, exact_cost
from services.common.selection.complexity import classify
from services.common.selection.config import TIERS

VIRTUAL_MODELS = {"tollway/auto": 0, "tollway/auto-cost": -1, "tollway/auto-quality": 1}
CONFIDENCE = {0: 0.7, 1: 0.5, 2: 0.6, 3: 0.5}  # by score: near a class boundary, less sure


def tiers_by_price(candidates: list[Candidate]) -> dict[str, int]:
    """Each model's tier (0 cheap .. 2 premium) from its cheapest provider's price per token pair."""
    price: dict[str, Decimal] = {}
    for c in candidates:
        p = c.provider.input_per_token + c.provider.output_per_token
        model = c.provider.model
        if model not in price or p < price[model]:
            price[model] = p
    models = sorted(price, key=lambda m: (price[m], m))
    return {m: 3 * i // len(models) for i, m in enumerate(models)}


def _tier_of(declared: Mapping[str, tuple[str, ...]], candidates: list[Candidate]) -> dict[str, int]:
    if not declared:
        return tiers_by_price(candidates)
    return {m: TIERS.index(t) for t, models in declared.items() for m in models}


def _search_order(target: int, shift: int) -> list[int]:
    """The target tier, then the others nearest first; ties go up (quality) unless saving cost."""
    return sorted(range(len(TIERS)), key=lambda t: (abs(t - target), t if shift < 0 else -t))


def rank(candidates: list[Candidate], job: Job) -> Ranking:
    complexity = classify(job.request.payload, job.input_tokens, job.output_tokens)
    job.complexity = complexity
    target = min(max(TIERS.index(complexity.level) + job.tier_shift, 0), len(TIERS) - 1)
    tier_of = _tier_of(job.ctx.config.tiers, candidates)
    order = {t: i for i, t in enumerate(_search_order(target, job.tier_shift))}
    far = len(TIERS)  # models in no tier rank after every tier
    place = {m: order[t] for m, t in tier_of.items()}
    # candidates come in tie-break order: two stable sorts give tier, then cost, then priority, name
    ordered = sorted(sorted(candidates, key=exact_cost), key=lambda c: place.get(c.provider.model, far))
    best = ordered[0]
    got = tier_of.get(best.provider.model)
    shift = {-1: "; auto-cost: one tier down", 1: "; auto-quality: one tier up"}.get(job.tier_shift, "")
    landed = TIERS[got] if got is not None else "no tier"
    reason = f"{complexity.describe()}{shift}; tier {TIERS[target]}"
    if got != target:
        reason += f" has no eligible provider, nearest is {landed}"
    source = "declared" if job.ctx.config.tiers else "by price"
    reason += f" (tiers {source}); cheapest there {best.name} ({best.provider.model}) ${best.cost}"
    return Ranking(ordered, reason, CONFIDENCE.get(complexity.score, 0.8))
