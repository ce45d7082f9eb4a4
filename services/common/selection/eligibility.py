"""Which providers can serve a request at all, and why the others cannot: inactive, excluded by
the caller, unavailable (circuit open, over a limit: the caller says), not the model or alias
asked, too small a context window, lacking a feature the request needs; then, once scored,
over the caller's cost or latency limit, or under the success-rate floor (latency strategies; the
declared availability stands for the success rate until there are enough outcomes)."""

from __future__ import annotations

from collections.abc import Mapping

from services.common.selection.candidate import Candidate, Job
from services.common.selection.catalog import Catalog, Entry
from services.common.selection.observed import Latency, Observed, below_floor, judged

FLOOR_STRATEGIES = frozenset({"latency", "balanced", "weighted"})


def floored(job: Job) -> bool:
    """Whether the success-rate floor applies: latency strategies, and smart routing's latency mode."""
    return job.strategy in FLOOR_STRATEGIES or job.smart_mode == "latency"


def why_not(entry: Entry, job: Job, models: frozenset[str] | None,
            unavailable: Mapping[str, str]) -> str | None:
    """The reason the entry's provider cannot serve the job's request, or None when it can."""
    provider = entry.provider
    if not provider.active:
        return "inactive"
    if provider.name in job.request.exclude:
        return "excluded by the caller"
    if provider.name in unavailable:
        return unavailable[provider.name]
    return unfit(entry, job, models)


def unfit(entry: Entry, job: Job, models: frozenset[str] | None) -> str | None:
    """Why the entry's provider cannot meet the request's own requirements (the pinned provider,
    the model or alias, the context, the features), or None when it can."""
    provider = entry.provider
    request = job.request
    req = request.requirements
    if req.provider and provider.name != req.provider:
        return f"not the pinned provider {req.provider}"
    if models is not None and provider.model not in models:
        return f"serves {provider.model}, not {req.model}"
    needed = max(req.context_window, request.input_tokens + request.output_tokens)
    if provider.context_window < needed:
        return too_small(provider.context_window, needed)
    missing = job.features - entry.offers
    if missing:
        return "lacks " + ", ".join(sorted(missing))
    return None


def too_small(window: int, needed: int) -> str:
    return f"context window {window} < {needed} tokens needed"


def partition(catalog: Catalog, job: Job,
              models: frozenset[str] | None) -> tuple[list[Entry], list[tuple[str, str]]]:
    """One quick pass of cheap checks; `why_not` (and its words) only for who fails them."""
    eligible: list[Entry] = []
    excluded: list[tuple[str, str]] = []
    request = job.request
    req = request.requirements
    unavailable = job.ctx.unavailable
    exclude = request.exclude
    needed = max(req.context_window, request.input_tokens + request.output_tokens)
    features = job.features
    pinned = req.provider
    if (models is None or catalog.models <= models) and not (features or pinned or exclude or unavailable):
        # the common case: only activity and the context window can leave anyone out
        eligible = [e for e, window in zip(catalog.active, catalog.windows, strict=True) if window >= needed]
        if len(eligible) < len(catalog.entries):
            kept = {id(e) for e in eligible}
            excluded = [(e.provider.name, why_not(e, job, models, unavailable) or "not eligible")
                        for e in catalog.entries if id(e) not in kept]
        return eligible, excluded
    for e in catalog.entries:
        p = e.provider
        if (p.active and p.context_window >= needed and (models is None or p.model in models)
                and (not features or features <= e.offers) and (pinned is None or p.name == pinned)
                and (not exclude or p.name not in exclude) and (not unavailable or p.name not in unavailable)):
            eligible.append(e)
        else:
            excluded.append((p.name, why_not(e, job, models, unavailable) or "not eligible"))
    return eligible, excluded


def over_limit(c: Candidate, job: Job) -> str | None:
    req = job.request.requirements
    if req.max_cost_usd is not None and c.cost > req.max_cost_usd:
        return f"estimated ${c.cost} > the caller's limit ${req.max_cost_usd}"
    if req.max_latency_ms is not None and c.latency.ms is not None and c.latency.ms > req.max_latency_ms:
        return f"expected p95 {c.latency.ms:g} ms > the caller's limit {req.max_latency_ms:g} ms"
    return None


def within_limits(candidates: list[Candidate], job: Job) -> tuple[list[Candidate], list[tuple[str, str]], str]:
    """Candidates within the caller's limits and, where the floor applies (`floored`), above the success-rate
    floor (unless every one is under it: then all stay, and the note says so)."""
    req = job.request.requirements
    floor = floored(job)
    if req.max_cost_usd is None and req.max_latency_ms is None and not floor:
        return candidates, [], ""
    kept: list[Candidate] = []
    excluded: list[tuple[str, str]] = []
    for c in candidates:
        reason = over_limit(c, job)
        if reason is None:
            kept.append(c)
        else:
            excluded.append((c.name, reason))
    if not floor or not kept:
        return kept, excluded, ""
    observed = job.ctx.observed
    healthy = [c for c in kept if not below_floor(c.latency, observed)]
    if not healthy:
        return kept, excluded, all_under_floor(observed)
    excluded += ((c.name, under_floor(c.latency, observed)) for c in kept if below_floor(c.latency, observed))
    return healthy, excluded, ""


def under_floor(latency: Latency, observed: Observed) -> str:
    if not judged(latency, observed):
        return (f"declared availability {latency.availability:.1%} < floor {observed.success_floor:.0%}"
                f" (SLO; {latency.samples} outcomes < {observed.min_samples} needed)")
    rate = latency.success_rate or 0.0
    return f"success rate {rate:.0%} < floor {observed.success_floor:.0%} over {latency.samples} outcomes"


def all_under_floor(observed: Observed) -> str:
    return f"every provider is under the {observed.success_floor:.0%} success floor; ranked anyway"
