"""Which providers can serve a request at all, and why the others cannot: inactive, excluded by
the caller, unavailable (circuit open, over a limit: the caller says), not the model or alias
asked, too small a context window, lacking a feature the request needs; then, once scored,
over the caller's cost or latency limit, or under the success-rate floor (latency strategies)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from services.common.registry.provider import Provider
from services.common.selection.candidate import Candidate, Job
from services.common.selection.features import offered
from services.common.selection.observed import below_floor

FLOOR_STRATEGIES = frozenset({"latency", "balanced", "weighted"})


def why_not(provider: Provider, job: Job, models: frozenset[str] | None,
            unavailable: Mapping[str, str]) -> str | None:
    """The reason `provider` cannot serve the job's request, or None when it can."""
    request = job.request
    req = request.requirements
    if not provider.active:
        return "inactive"
    if provider.name in request.exclude:
        return "excluded by the caller"
    if provider.name in unavailable:
        return unavailable[provider.name]
    if req.provider and provider.name != req.provider:
        return f"not the pinned provider {req.provider}"
    if models is not None and provider.model not in models:
        return f"serves {provider.model}, not {req.model}"
    needed = max(req.context_window, request.input_tokens + request.output_tokens)
    if provider.context_window < needed:
        return f"context window {provider.context_window} < {needed} tokens needed"
    missing = job.features - offered(provider) if job.features else None
    if missing:
        return "lacks " + ", ".join(sorted(missing))
    return None


def partition(providers: Iterable[Provider], job: Job,
              models: frozenset[str] | None) -> tuple[list[Provider], list[tuple[str, str]]]:
    eligible: list[Provider] = []
    excluded: list[tuple[str, str]] = []
    unavailable = job.ctx.unavailable
    for p in providers:
        reason = why_not(p, job, models, unavailable)
        if reason is None:
            eligible.append(p)
        else:
            excluded.append((p.name, reason))
    return eligible, excluded


def over_limit(c: Candidate, job: Job) -> str | None:
    req = job.request.requirements
    if req.max_cost_usd is not None and c.cost > req.max_cost_usd:
        return f"estimated ${c.cost} > the caller's limit ${req.max_cost_usd}"
    if req.max_latency_ms is not None and c.latency.ms is not None and c.latency.ms > req.max_latency_ms:
        return f"expected p95 {c.latency.ms:g} ms > the caller's limit {req.max_latency_ms:g} ms"
    return None


def within_limits(candidates: list[Candidate], job: Job) -> tuple[list[Candidate], list[tuple[str, str]], str]:
    """Candidates within the caller's limits and, for latency strategies, above the success-rate
    floor (unless every one is under it: then all stay, and the note says so)."""
    kept: list[Candidate] = []
    excluded: list[tuple[str, str]] = []
    for c in candidates:
        reason = over_limit(c, job)
        if reason is None:
            kept.append(c)
        else:
            excluded.append((c.name, reason))
    if job.strategy not in FLOOR_STRATEGIES or not kept:
        return kept, excluded, ""
    observed = job.ctx.observed
    healthy = [c for c in kept if not below_floor(c.latency, observed)]
    if not healthy:
        return kept, excluded, f"every provider is under the {observed.success_floor:.0%} success floor; ranked anyway"
    for c in kept:
        if below_floor(c.latency, observed):
            rate = c.latency.success_rate or 0.0
            excluded.append((c.name, f"success rate {rate:.0%} < floor {observed.success_floor:.0%} "
                                     f"over {c.latency.samples} outcomes"))
    return healthy, excluded, ""
