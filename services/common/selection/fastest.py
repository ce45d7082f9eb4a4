"""Latency strategy: the lowest expected P95, observed over the sliding window once a provider
has enough outcomes, its registered SLO until then. Providers with no figure rank last;
ties go to the cheaper. (Providers under the success-rate floor are left out before this.)"""

from __future__ import annotations

from collections.abc import Sequence

from services.common.selection.candidate import (
    Candidate,
    Job,
    Ranking,
    exact_cost,
    expected_p95,
    runner_up,
    score_all,
)
from services.common.selection.observed import describe, evidence
from services.common.selection.ranked import HEAD, ranked
from services.common.selection.view import View


def order(candidates: list[Candidate]) -> list[Candidate]:
    # candidates come in tie-break order: two stable sorts give latency, then cost, then priority, name
    return sorted(sorted(candidates, key=exact_cost), key=expected_p95)


def explain(ordered: Sequence[Candidate], job: Job) -> Ranking:
    best, nxt = ordered[0], runner_up(ordered)
    min_samples = job.ctx.observed.min_samples
    if best.latency.ms is None:
        return Ranking(ordered, "no provider has a latency figure; fell back to cost and priority order", 0.1)
    reason = f"lowest expected latency: {describe(best.latency, min_samples)}"
    confidence = evidence(best.latency, min_samples)
    if nxt is not None:
        reason += f"; next {nxt.name} {describe(nxt.latency, min_samples)}"
        if nxt.latency.ms is not None and nxt.latency.ms <= best.latency.ms * 1.05:
            confidence *= 0.5  # within 5 %: the order could flip with the next few outcomes
    return Ranking(ordered, reason, round(confidence, 3))


def rank(candidates: list[Candidate], job: Job) -> Ranking:
    return explain(order(candidates), job)


def head(view: View, job: Job) -> Ranking:
    return explain(ranked(order(score_all(view.leading("latency", HEAD), job)), view, job, order), job)
