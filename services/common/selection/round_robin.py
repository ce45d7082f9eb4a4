"""Round-robin strategy: the candidates in name order, starting one further along on each call
for the same pool (the model or alias asked). The turn counter is the caller's (`ctx.turns`)."""

from __future__ import annotations

from operator import attrgetter

from services.common.selection.candidate import Candidate, Job, Ranking


def rank(candidates: list[Candidate], job: Job) -> Ranking:
    by_name = sorted(candidates, key=attrgetter("provider.name"))
    turn = job.ctx.turns.take(job.pool)
    start = turn % len(by_name)
    ordered = by_name[start:] + by_name[:start]
    reason = f"round-robin over {len(by_name)} providers for {job.pool}: turn {turn}, position {start + 1}"
    return Ranking(ordered, reason, 1.0)
