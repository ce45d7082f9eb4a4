"""Capability strategy: every candidate already has the model (or alias), the context and the
features the request needs; this picks the tightest fit, the smallest context window that holds
the request, so large-context models stay free for the requests that need them. Then cost."""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from services.common.selection.candidate import Candidate, Job, Ranking, exact_cost, runner_up, score_all
from services.common.selection.ranked import HEAD, ranked
from services.common.selection.view import View


def order(candidates: list[Candidate]) -> list[Candidate]:
    # candidates come in tie-break order: two stable sorts give window, then cost, then priority, name
    return sorted(sorted(candidates, key=exact_cost), key=attrgetter("provider.context_window"))


def explain(ordered: Sequence[Candidate], job: Job) -> Ranking:
    best, nxt = ordered[0], runner_up(ordered)
    needed = job.input_tokens + job.output_tokens
    needs = ", ".join(sorted(job.features)) or "no special features"
    reason = (f"tightest fit: context window {best.provider.context_window} for ~{needed} tokens "
              f"({needs}), ${best.cost}")
    if nxt is not None:
        reason += f"; next {nxt.name} window {nxt.provider.context_window}"
    return Ranking(ordered, reason, 1.0)


def rank(candidates: list[Candidate], job: Job) -> Ranking:
    return explain(order(candidates), job)


def head(view: View, job: Job) -> Ranking:
    return explain(ranked(order(score_all(view.leading("window", HEAD), job)), view, job, order), job)
