"""Cost strategy: the lowest estimated cost for this request (estimated input tokens x input
price + expected output tokens x output price), exact to the microdollar."""

from __future__ import annotations

from collections.abc import Sequence

from services.common.selection.candidate import Candidate, Job, Ranking, exact_cost, runner_up, score_all
from services.common.selection.ranked import HEAD, ranked
from services.common.selection.view import View


def order(candidates: list[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=exact_cost)  # candidates come in tie-break order


def explain(ordered: Sequence[Candidate], job: Job) -> Ranking:
    best, nxt = ordered[0], runner_up(ordered)
    reason = (f"cheapest for {job.input_tokens} input + {job.output_tokens} output tokens: ${best.cost} "
              f"at ${best.provider.input_per_mtok}/${best.provider.output_per_mtok} per Mtok")
    if nxt is not None:
        reason += f"; next {nxt.name} ${nxt.cost}"
    # prices are known exactly: sure unless the runner-up costs the same
    confidence = 1.0 if nxt is None or best.exact < nxt.exact else 0.5
    return Ranking(ordered, reason, confidence)


def rank(candidates: list[Candidate], job: Job) -> Ranking:
    return explain(order(candidates), job)


def head(view: View, job: Job) -> Ranking:
    return explain(ranked(order(score_all(view.cheapest(HEAD), job)), view, job, order), job)
