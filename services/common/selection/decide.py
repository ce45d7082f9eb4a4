"""The selection function: eligible providers, a rule or an experiment arm first when one
applies, ranked by the strategy, explained.

Runs in the gateway (over its local registry snapshot) and behind the router's POST /select.
The order of one decision: resolve the strategy (request, else the route for the model asked,
else the config's default, else the caller's) and the target (a model, an alias's models, or
any model for a virtual `tollway/auto*`); leave out who cannot serve it; a matching rule picks
first, else an experiment's arm goes first; the strategy orders the rest.

Over a prepared Catalog most decisions take the quick path (prepared.py): the same decision from
the few providers that can come first. `full` scores and sorts everyone: it decides when a rule
or an experiment is involved, and it is the reference the quick path is tested against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from services.common.errors import InvalidRequest, NoProviderMatches
from services.common.registry.provider import Provider
from services.common.selection import ab_split, rules, smart
from services.common.selection.candidate import Candidate, Job, Ranking, score_all
from services.common.selection.catalog import Catalog
from services.common.selection.context import RoutingContext
from services.common.selection.decision import Decision
from services.common.selection.eligibility import partition, within_limits
from services.common.selection.features import detect
from services.common.selection.prepared import quick_ranking
from services.common.selection.refusal import refusal
from services.common.selection.request import STRATEGIES, SelectionRequest, Weights, strategy_name
from services.common.selection.strategies import BY_NAME

EXCLUSIONS_IN_REASON = 3

RANKERS: dict[str, Callable[[list[Candidate], Job], Ranking]] = {n: s.rank for n, s in BY_NAME.items()}


def _target(model: str | None, ctx: RoutingContext) -> tuple[frozenset[str] | None, int | None]:
    """The models that may serve `model` (None: any) and, for a virtual model, its tier shift."""
    if not model:
        return None, None
    if model in smart.VIRTUAL_MODELS:
        return None, smart.VIRTUAL_MODELS[model]
    alias = ctx.config.aliases.get(model)
    return (frozenset(alias) if alias else frozenset((model,))), None


def plan(request: SelectionRequest, ctx: RoutingContext) -> tuple[Job, frozenset[str] | None]:
    """The job (strategy, weights, region, features, pool) and the models that may serve it."""
    req = request.requirements
    models, shift = _target(req.model, ctx)
    route = ctx.config.route_for(req.model)
    strategy = "smart" if shift is not None else (
        request.optimization or (route.strategy if route else None) or ctx.config.default_strategy
        or ctx.default_strategy)
    if strategy not in STRATEGIES:
        strategy = strategy_name(strategy)  # `round-robin` for `round_robin`, ...
        if strategy not in STRATEGIES:
            raise InvalidRequest(f"strategy must be one of {', '.join(STRATEGIES)} (or a spelling such as "
                                 f"round-robin, least-busy)", field="optimization")
    weights = req.weights or (route.weights if route else None) or Weights()
    features = req.features | detect(request.payload)
    variant = req.model if shift is not None else (  # a virtual model, or the route's smart_mode when smart ranks
        route.smart_mode if route and strategy == "smart" else None)
    shift, mode = smart.variant(variant) if variant else (0, "cost")
    job = Job(request, ctx, strategy, weights, req.region or ctx.region, features, req.model or "*",
              tier_shift=shift, smart_mode=mode)
    return job, models


def _ranked_group(group: list[Candidate], job: Job, pool: str) -> Ranking:
    """Rank a subset with its own round-robin counter, so splitting never skews the rotation."""
    sub = replace(job, pool=f"{job.pool}#{pool}")
    ranking = RANKERS[job.strategy](group, sub)
    job.complexity = job.complexity or sub.complexity
    return ranking


def select(providers: Iterable[Provider] | Catalog, request: SelectionRequest,
           ctx: RoutingContext | None = None) -> Decision:
    """`providers` prepared as a Catalog (built with `ctx.observed`) saves the preparation, and
    lets the decision take the quick path (prepared.py), which gets quicker as the catalog keeps
    what its requests have asked for; a plain list is prepared and ranked in full."""
    ctx = ctx or RoutingContext()
    job, models = plan(request, ctx)
    if not isinstance(providers, Catalog):
        return full(Catalog(providers, ctx.observed), job, models)
    catalog = providers
    quick = quick_ranking(catalog, job, models)
    if quick is not None:
        (ordered, reason, confidence), excluded, notes = quick
        return Decision(ordered, job.strategy, "; ".join([reason, *notes]) + _exclusions(excluded), confidence,
                        tuple(excluded), complexity=job.complexity)
    return full(catalog, job, models)


def full(catalog: Catalog, job: Job, models: frozenset[str] | None) -> Decision:
    """The full path: every eligible provider scored and ranked (rules and experiments included)."""
    eligible, excluded = partition(catalog, job, models)
    if not eligible:
        raise refusal(catalog, job, models, excluded, _nothing_matches)
    candidates, limited, note = within_limits(score_all(eligible, job), job)
    excluded += limited
    if not candidates:
        raise NoProviderMatches(_nothing_matches(job, excluded))
    notes = [note] if note else []
    pick, rule_note = rules.apply(candidates, job)
    if rule_note:
        notes.append(rule_note)
    experiment = ab_split.experiment_for(job) if pick is None else None
    arm_label: tuple[str, str] | None = None
    ordered: Sequence[Candidate]
    if pick is not None:
        head = pick.head
        chosen = {c.name for c in head}
        rest = [c for c in candidates if c.name not in chosen]
        tail = _ranked_group(rest, job, "rest").ordered if rest else []
        ordered, reason, confidence = [*head, *tail], pick.reason, 1.0
        if tail:
            reason += f"; fallbacks by {job.strategy}"
    elif experiment is not None:
        arm, how = ab_split.assign(experiment, job)
        inside = [c for c in candidates if arm.takes(c.name, c.provider.model)]
        outside = [c for c in candidates if not arm.takes(c.name, c.provider.model)]
        if inside:
            if arm.strategy:  # a strategy arm: the arm's strategy ranks its providers and the fallbacks
                job.strategy = arm.strategy
            first = _ranked_group(inside, job, arm.name)
            tail = _ranked_group(outside, job, "rest").ordered if outside else []
            ordered, confidence = [*first.ordered, *tail], first.confidence
            reason = f"{ab_split.describe(experiment, arm, how)}; {first.reason}"
            arm_label = (experiment.name, arm.name)
        else:
            notes.append(f"{ab_split.describe(experiment, arm, how)} has no eligible provider")
            ordered, reason, confidence = RANKERS[job.strategy](candidates, job)
    else:
        ordered, reason, confidence = RANKERS[job.strategy](candidates, job)
        if job.strategy == "ab":
            notes.append("no experiment applies to this request")
    reason = "; ".join([reason, *notes]) + _exclusions(excluded)
    return Decision(tuple(ordered), job.strategy, reason, confidence, tuple(excluded), arm_label,
                    pick.rule.name if pick else None, job.complexity)


def _exclusions(excluded: list[tuple[str, str]]) -> str:
    if not excluded:
        return ""
    shown = ", ".join(f"{n} ({r})" for n, r in excluded[:EXCLUSIONS_IN_REASON])
    more = f" and {len(excluded) - EXCLUSIONS_IN_REASON} more" if len(excluded) > EXCLUSIONS_IN_REASON else ""
    return f"; {len(excluded)} excluded: {shown}{more}"


def _nothing_matches(job: Job, excluded: list[tuple[str, str]]) -> str:
    req = job.request.requirements
    wanted = []
    if req.model:
        wanted.append(f"model {req.model}")
    if req.context_window:
        wanted.append(f"context window >= {req.context_window}")
    if job.features:
        wanted.append("features " + ", ".join(sorted(job.features)))
    text = "no active provider matches " + (" and ".join(wanted) if wanted else "the request")
    if excluded:
        shown = "; ".join(f"{n}: {r}" for n, r in excluded[:5])
        more = f" (and {len(excluded) - 5} more)" if len(excluded) > 5 else ""
        text += f" ({shown}{more})"
    else:
        text += " (no providers are registered)"
    return text
