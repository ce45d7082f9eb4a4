"""Smart routing: classify the request's complexity (complexity.py) and pick from the matching
tier of models: simple -> the cheap tier, complex -> the premium tier. Tiers come from the
routing config (`smart.tiers`), else from price: the eligible models in price order, in thirds.

The virtual models `tollway/auto`, `tollway/auto-cost` (one tier down), `tollway/auto-quality`
(one tier up) and `tollway/auto-latency` route this way over every model; `smart` as a strategy
does it within the model or alias asked, in the variant its route's `smart_mode` names (`auto`,
`auto-cost`, `auto-quality`, `auto-latency`; `auto` without one). Within the tier the cheapest wins (cost mode) or, in
latency mode (`tollway/auto-latency`), the lowest expected P95 (observed, the SLO until enough
outcomes; ties to the cheaper), with the success-rate floor applied as in the latency strategy;
the other tiers follow, nearest first (on a tie, the lower tier in cost and latency modes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from services.common.selection.candidate import Candidate, Job, Ranking, exact_cost, expected_p95, score_all
from services.common.selection.complexity import Complexity, classify
from services.common.selection.config import TIERS
from services.common.selection.observed import describe, evidence
from services.common.selection.pool import Pool
from services.common.selection.ranked import HEAD, ranked
from services.common.selection.view import View

VIRTUAL_MODELS = {"tollway/auto": 0, "tollway/auto-cost": -1, "tollway/auto-quality": 1, "tollway/auto-latency": 0}
MODES = {"tollway/auto-latency": "latency"}  # what wins within a tier; any other: "cost"
SMART_MODES = tuple(m.removeprefix("tollway/") for m in VIRTUAL_MODELS)  # a route's smart_mode: the same choice
CONFIDENCE = {0: 0.7, 1: 0.5, 2: 0.6, 3: 0.5}  # by score: near a class boundary, less sure
FAR = len(TIERS)  # the place of models in no tier: after every tier


def variant(model: str) -> tuple[int, str]:
    """The tier shift and the within-tier mode of a virtual model (`tollway/auto-latency`) or of a
    route's `smart_mode` naming one (`auto-latency`)."""
    virtual = model if model.startswith("tollway/") else f"tollway/{model}"
    return VIRTUAL_MODELS[virtual], MODES.get(virtual, "cost")


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


def _search_order(target: int, down: bool) -> list[int]:
    """The target tier, then the others nearest first; ties go up (quality) unless `down`."""
    return sorted(range(len(TIERS)), key=lambda t: (abs(t - target), t if down else -t))


def _places(target: int, job: Job, tier_of: Mapping[str, int]) -> dict[str, int]:
    """Each model's place in the search: 0 for the target tier, then the others nearest first
    (on a tie the lower tier when saving cost or time, the higher one otherwise)."""
    order = {t: i for i, t in enumerate(_search_order(target, job.tier_shift < 0 or job.smart_mode == "latency"))}
    return {m: order[t] for m, t in tier_of.items()}


def order(candidates: list[Candidate], place: Mapping[str, int], mode: str = "cost") -> list[Candidate]:
    # candidates come in tie-break order: stable sorts give tier, then (latency, when that is the
    # mode) cost, then priority, name
    by_cost = sorted(candidates, key=exact_cost)
    within = sorted(by_cost, key=expected_p95) if mode == "latency" else by_cost
    return sorted(within, key=lambda c: place.get(c.provider.model, FAR))


SHIFTS = {-1: "; auto-cost: one tier down", 1: "; auto-quality: one tier up"}


def explain(ordered: Sequence[Candidate], job: Job, complexity: Complexity, target: int,
            tier_of: Mapping[str, int]) -> Ranking:
    best = ordered[0]
    got = tier_of.get(best.provider.model)
    landed = TIERS[got] if got is not None else "no tier"
    mode = "; auto-latency: the fastest in the tier" if job.smart_mode == "latency" else ""
    reason = f"{complexity.describe()}{SHIFTS.get(job.tier_shift, '')}{mode}; tier {TIERS[target]}"
    if got != target:
        reason += f" has no eligible provider, nearest is {landed}"
    source = "declared" if job.ctx.config.tiers else "by price"
    confidence = CONFIDENCE.get(complexity.score, 0.8)
    if job.smart_mode == "latency":
        min_samples = job.ctx.observed.min_samples
        reason += (f" (tiers {source}); fastest there {best.name} ({best.provider.model}) "
                   f"{describe(best.latency, min_samples)}, ${best.cost}")
        confidence = round(confidence * evidence(best.latency, min_samples), 3)
    else:
        reason += f" (tiers {source}); cheapest there {best.name} ({best.provider.model}) ${best.cost}"
    return Ranking(ordered, reason, confidence)


def _classified(job: Job) -> tuple[Complexity, int]:
    complexity = classify(job.request.payload, job.input_tokens, job.output_tokens)
    job.complexity = complexity
    return complexity, min(max(TIERS.index(complexity.level) + job.tier_shift, 0), len(TIERS) - 1)


def rank(candidates: list[Candidate], job: Job) -> Ranking:
    complexity, target = _classified(job)
    tier_of = _tier_of(job, lambda: tiers_by_price(candidates))
    return explain(order(candidates, _places(target, job, tier_of), job.smart_mode), job, complexity, target,
                   tier_of)


def _plan(view: View, job: Job, target: int) -> tuple[dict[str, int], dict[str, int], list[Pool]]:
    """Each model's tier and place, and the pool's models grouped by place, nearest first."""
    tier_of = _tier_of(job, lambda: _view_tiers(view))
    place = _places(target, job, tier_of)
    by_place: dict[int, set[str]] = {}
    for e in view.pool.entries:
        by_place.setdefault(place.get(e.provider.model, FAR), set()).add(e.provider.model)
    return tier_of, place, [view.pool.of_models(frozenset(models)) for _, models in sorted(by_place.items())]


def head(view: View, job: Job) -> Ranking:
    complexity, target = _classified(job)
    declared = job.ctx.config.tiers
    if declared or not view.removed:  # the plan depends on the pool alone: kept with it
        key = ("smart", tuple(declared.items()), target, job.tier_shift, job.smart_mode)
        tier_of, place, groups = view.pool.kept(key, lambda: _plan(view, job, target))
    else:
        tier_of, place, groups = _plan(view, job, target)
    mode = job.smart_mode
    if mode == "latency":  # the fastest few of each place (then the cheapest at a latency)
        entries = view.across(groups, HEAD, lambda part, want: part.leading("latency", want))
    else:
        entries = view.across(groups, HEAD)
    ordered = order(score_all(entries, job), place, mode)
    return explain(ranked(ordered, view, job, lambda cs: order(cs, place, mode)), job, complexity, target, tier_of)
