"""Smart routing: classify the request's complexity (complexity.py) and pick from the matching
tier of models: simple -> the cheap tier, complex -> the premium tier. Tiers come from the
routing config (`smart.tiers`), else from price: the eligible models in price order, in thirds.

The virtual models `tollway/auto`, `tollway/auto-cost` (one tier down) and `tollway/auto-quality`
(one tier up) route this way over every model; `smart` as a strategy does it within the model or
alias asked. Within the tier the cheapest wins; the other tiers follow, nearest first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from services.common.selection.candidate import Candidate, Job, Ranking, exact_cost, score_all
from services.common.selection.complexity import Complexity, classify
from services.common.selection.config import TIERS
from services.common.selection.pool import Pool
from services.common.selection.ranked import HEAD, ranked
from services.common.selection.view import View

VIRTUAL_MODELS = {"tollway/auto": 0, "tollway/auto-cost": -1, "tollway/auto-quality": 1}
CONFIDENCE = {0: 0.7, 1: 0.5, 2: 0.6, 3: 0.5}  # by score: near a class boundary, less sure
FAR = len(TIERS)  # the place of models in no tier: after every tier


def tiers_from(price: Mapping[str, Decimal]) -> dict[str, int]:
    """Each model's tier (0 cheap .. 2 premium) from its cheapest provider's price per token pair."""
    models = sorted(price, key=lambda m: (price[m], m))
    return {m: 3 * i // len(models) for i, m in enumerate(models)}


def tiers_by_price(candidates: list[Candidate]) -> dict[str, int]:
    price: dict[str, Decimal] = {}
    for c in candidates:
        p = c.provider.input_per_token + c.provider.output_per_token
        model = c.provider.model
        if model not in price or p < price[model]:
            price[model] = p
    return tiers_from(price)


def _view_tiers(view: View) -> dict[str, int]:
    """`tiers_by_price` of everyone left in the view."""
    removed = view.removed
    price: dict[str, Decimal] = {}
    for model, listed in view.pool.model_prices().items():
        left = next((p for p, pos in listed if pos not in removed), None)
        if left is not None:
            price[model] = left
    return tiers_from(price)


def _tier_of(job: Job, by_price: Callable[[], dict[str, int]]) -> dict[str, int]:
    declared = job.ctx.config.tiers
    return {m: TIERS.index(t) for t, models in declared.items() for m in models} if declared else by_price()


def _search_order(target: int, shift: int) -> list[int]:
    """The target tier, then the others nearest first; ties go up (quality) unless saving cost."""
    return sorted(range(len(TIERS)), key=lambda t: (abs(t - target), t if shift < 0 else -t))


def _places(target: int, shift: int, tier_of: Mapping[str, int]) -> dict[str, int]:
    """Each model's place in the search: 0 for the target tier, then the others nearest first."""
    order = {t: i for i, t in enumerate(_search_order(target, shift))}
    return {m: order[t] for m, t in tier_of.items()}


def order(candidates: list[Candidate], place: Mapping[str, int]) -> list[Candidate]:
    # candidates come in tie-break order: two stable sorts give tier, then cost, then priority, name
    return sorted(sorted(candidates, key=exact_cost), key=lambda c: place.get(c.provider.model, FAR))


def explain(ordered: Sequence[Candidate], job: Job, complexity: Complexity, target: int,
            tier_of: Mapping[str, int]) -> Ranking:
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


def _classified(job: Job) -> tuple[Complexity, int]:
    complexity = classify(job.request.payload, job.input_tokens, job.output_tokens)
    job.complexity = complexity
    return complexity, min(max(TIERS.index(complexity.level) + job.tier_shift, 0), len(TIERS) - 1)


def rank(candidates: list[Candidate], job: Job) -> Ranking:
    complexity, target = _classified(job)
    tier_of = _tier_of(job, lambda: tiers_by_price(candidates))
    return explain(order(candidates, _places(target, job.tier_shift, tier_of)), job, complexity, target, tier_of)


def _plan(view: View, job: Job, target: int) -> tuple[dict[str, int], dict[str, int], list[Pool]]:
    """Each model's tier and place, and the pool's models grouped by place, nearest first."""
    tier_of = _tier_of(job, lambda: _view_tiers(view))
    place = _places(target, job.tier_shift, tier_of)
    by_place: dict[int, set[str]] = {}
    for e in view.pool.entries:
        by_place.setdefault(place.get(e.provider.model, FAR), set()).add(e.provider.model)
    return tier_of, place, [view.pool.of_models(frozenset(models)) for _, models in sorted(by_place.items())]


def head(view: View, job: Job) -> Ranking:
    complexity, target = _classified(job)
    declared = job.ctx.config.tiers
    if declared or not view.removed:  # the plan depends on the pool alone: kept with it
        key = ("smart", tuple(declared.items()), target, job.tier_shift)
        tier_of, place, groups = view.pool.kept(key, lambda: _plan(view, job, target))
    else:
        tier_of, place, groups = _plan(view, job, target)
    ordered = order(score_all(view.across(groups, HEAD), job), place)
    return explain(ranked(ordered, view, job, lambda cs: order(cs, place)), job, complexity, target, tier_of)
